# check_train_cli.cmake — issue 12's training guards through the ratq command (cmake -P; tests/train.cmake).
#   -DRATQ=<ratq> -DDATA=<Fashion-MNIST folder> -DWORK=<scratch folder>
# Each bad case exits 2 with exactly one stderr line (expect_error.cmake) and leaves no output file behind:
#   ratq train --lr 1e30            diverges: "loss is ..." naming the step, no .ratqw
#   ratq finetune --lr 1e30         diverges: the error names the step, no .ratqm
#   ratq finetune --log /dev/full   a full disk: the log write fails, naming the log
#   ratq finetune --resume          from a corrupted checkpoint: a checksum error naming the checkpoint
# and a resume after a kill (checkpoint at step 3, later log lines and a broken one appended) leaves the same log
# as an uninterrupted run.
include(${CMAKE_CURRENT_LIST_DIR}/expect_error.cmake)
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
set(W ${WORK}/tiny.ratqw)
execute_process(COMMAND ${RATQ} train --data ${DATA}/train --images 128 --epochs 1 -o ${W}
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ratq train (setup) failed (exit ${rc}): ${err}")
endif()
ratq_expect_error(train_diverges "loss is" ${RATQ} train --data ${DATA}/train --images 128 --epochs 1 --lr 1e30
                  -o ${WORK}/nan.ratqw)
if(EXISTS ${WORK}/nan.ratqw)
  message(FATAL_ERROR "a diverged ratq train wrote ${WORK}/nan.ratqw")
endif()
set(FT finetune --model ${W} --data ${DATA}/train --val ${DATA}/t10k --rescale-bits 4 --epochs 1 --limit 128
       --val-limit 32 --calib-images 32 --batch 16)
ratq_expect_error(finetune_diverges "step " ${RATQ} ${FT} --lr 1e30 -o ${WORK}/nan.ratqm)
if(EXISTS ${WORK}/nan.ratqm)
  message(FATAL_ERROR "a diverged ratq finetune wrote ${WORK}/nan.ratqm")
endif()
ratq_expect_error(log_disk_full "/dev/full" ${RATQ} ${FT} --log /dev/full -o ${WORK}/full.ratqm)
# an uninterrupted run, then one stopped at step 3 whose log got later lines (a kill), resumed
execute_process(COMMAND ${RATQ} ${FT} -o ${WORK}/a.ratqm RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
execute_process(COMMAND ${RATQ} ${FT} --stop-after 3 -o ${WORK}/b.ratqm RESULT_VARIABLE rc2 OUTPUT_QUIET
                ERROR_VARIABLE err2)
if(NOT rc EQUAL 0 OR NOT rc2 EQUAL 0)
  message(FATAL_ERROR "finetune runs failed (${rc}, ${rc2}): ${err} ${err2}")
endif()
file(APPEND ${WORK}/b.ratqm.log.jsonl "{\"step\":3,\"epoch\":0,\"loss\":9,\"acc\":0,\"lr\":0}\n{\"step\":4,\"ep")
file(COPY_FILE ${WORK}/b.ratqm.ckpt ${WORK}/good.ckpt)
execute_process(COMMAND ${RATQ} ${FT} --resume -o ${WORK}/b.ratqm RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
file(READ ${WORK}/a.ratqm.log.jsonl la)
file(READ ${WORK}/b.ratqm.log.jsonl lb)
if(NOT rc EQUAL 0 OR NOT la STREQUAL lb)
  message(FATAL_ERROR "resumed log differs from the uninterrupted one (exit ${rc}, ${err}):\n${la}\nvs\n${lb}")
endif()
file(SHA256 ${WORK}/a.ratqm ha)
file(SHA256 ${WORK}/b.ratqm hb)
if(NOT ha STREQUAL hb)
  message(FATAL_ERROR "resumed model differs from the uninterrupted one")
endif()
message(STATUS "resume after a kill: log and model equal to the uninterrupted run")
# a corrupted checkpoint (one weight byte changed): the checksum error, naming the file
file(SIZE ${WORK}/good.ckpt size)
math(EXPR off "${size} / 2")
file(READ ${WORK}/good.ckpt byte OFFSET ${off} LIMIT 1 HEX)
set(new "\\001")
if(byte STREQUAL "01")
  set(new "\\002")
endif()
execute_process(COMMAND sh -c "cp '${WORK}/good.ckpt' '${WORK}/bad.ckpt' && printf '${new}' | dd of='${WORK}/bad.ckpt' bs=1 seek=${off} conv=notrunc status=none"
                RESULT_VARIABLE rc)
file(SHA256 ${WORK}/good.ckpt hg)
file(SHA256 ${WORK}/bad.ckpt hb)
if(NOT rc EQUAL 0 OR hg STREQUAL hb)
  message(FATAL_ERROR "could not corrupt the checkpoint copy (exit ${rc})")
endif()
ratq_expect_error(corrupted_checkpoint "checksum" ${RATQ} ${FT} --resume --checkpoint ${WORK}/bad.ckpt
                  -o ${WORK}/c.ratqm)
ratq_expect_error(corrupted_checkpoint_names_file "bad.ckpt" ${RATQ} ${FT} --resume --checkpoint ${WORK}/bad.ckpt
                  -o ${WORK}/c.ratqm)
if(EXISTS ${WORK}/c.ratqm)
  message(FATAL_ERROR "a run from a corrupted checkpoint wrote ${WORK}/c.ratqm")
endif()
