# dist_finetune.cmake — data-parallel `ratq finetune` on CPU ranks (host/train/rat_train.h, "Data parallel").
# Args: RATQ CMP (ckpt_compare) DATA (Fashion-MNIST dir) WORK PORT [MPIRUN (';'-list: mpirun ... -np)].
# Setup: the tiny network trained briefly in float, RAT k = 4, AdamW, distillation, 48 images = 3 steps of a global
# batch of 16, OMP/BLAS threads 1. Verdicts (the checkpoints hold the master weights and optimizer state):
#   1. 2 ranks x batch 8 (MPI and TCP) == 1 rank x batch 16 with --micro-batch 8, checkpoint byte for byte;
#   2. 1 rank x batch 16 without micro-batching is within relative L2 1e-5 of it (float summation order differs);
#   3. a checkpoint taken at step 1 with 2 ranks resumes on 1 rank (and one taken on 1 rank resumes on 2) and
#      ends byte-identical; a resume whose global batch differs is refused (exit 2, names global_batch);
#   4. a rank that dies at step 2 makes rank 0 exit 3 within the 20 s collective timeout, naming itself, the
#      step and the lost rank (TCP), and mpirun exit non-zero (MPI); a rank that hangs makes rank 0 exit 3 when
#      its collective deadline passes, and the hung rank exits non-zero once it wakes to a vanished rank 0.
set(F ${DATA})
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
set(ENV{OMP_NUM_THREADS} 1)
set(ENV{OPENBLAS_NUM_THREADS} 1)
set(ENV{ASAN_OPTIONS} detect_leaks=0) # Open MPI's allocations are not freed at exit

function(run expect_rc)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY ${WORK} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  TIMEOUT 120)
  message(STATUS "$ ${ARGN}\n${out}${err}")
  if(NOT rc STREQUAL "${expect_rc}")
    message(FATAL_ERROR "exit ${rc}, expected ${expect_rc}")
  endif()
  set(LAST_ERR "${err}" PARENT_SCOPE)
endfunction()

# WORLD TCP ranks of `ratq finetune ARGS` at once (RATQ_RANK/... environment); rank codes in TCP_RCS, rank 0's
# stderr in TCP_ERR0, seconds in TCP_SECS.
function(tcp_ranks world port extra_env)
  set(cmds "")
  math(EXPR last "${world} - 1")
  foreach(r RANGE ${last})
    list(APPEND cmds COMMAND ${CMAKE_COMMAND} -E env RATQ_RANK=${r} RATQ_WORLD_SIZE=${world}
         RATQ_MASTER_ADDR=127.0.0.1 RATQ_MASTER_PORT=${port} RATQ_DIST_TIMEOUT=20 ${extra_env}
         sh -c "exec \"$0\" \"$@\" >tcp_out${r} 2>tcp_err${r}" ${RATQ} finetune ${ARGN})
  endforeach()
  string(TIMESTAMP t0 "%s")
  execute_process(${cmds} WORKING_DIRECTORY ${WORK} RESULTS_VARIABLE rcs TIMEOUT 120)
  string(TIMESTAMP t1 "%s")
  math(EXPR secs "${t1} - ${t0}")
  file(READ ${WORK}/tcp_err0 e0)
  file(READ ${WORK}/tcp_out0 o0)
  message(STATUS "tcp ranks ${world}: exit codes ${rcs}, ${secs} s\n${o0}${e0}")
  set(TCP_RCS "${rcs}" PARENT_SCOPE)
  set(TCP_ERR0 "${e0}" PARENT_SCOPE)
  set(TCP_SECS ${secs} PARENT_SCOPE)
endfunction()

function(same a b)
  run(0 ${CMP} ${WORK}/${a} ${WORK}/${b} 0)
endfunction()
function(same_file a b)
  run(0 ${CMAKE_COMMAND} -E compare_files ${WORK}/${a} ${WORK}/${b})
endfunction()

run(0 ${RATQ} train --data ${F}/train --images 1024 --epochs 1 -o tiny.ratqw)
set(A --model tiny.ratqw --data ${F}/train --val ${F}/t10k --val-limit 64 --calib-images 64 --limit 48
      --rescale-bits 4 --epochs 1 --optimizer adamw --lr 1e-3 --distill --json)

# 1. the reference: one rank, global batch 16 in two micro-batches of 8
run(0 ${RATQ} finetune ${A} --batch 16 --micro-batch 8 -o ref.ratqm)
# 2. one rank, one batch of 16: same mathematics, other float summation order
run(0 ${RATQ} finetune ${A} --batch 16 -o whole.ratqm)
run(0 ${CMP} ${WORK}/ref.ratqm.ckpt ${WORK}/whole.ratqm.ckpt 1e-5)

# TCP ranks (launcher-agnostic environment)
tcp_ranks(2 ${PORT} "" ${A} --batch 8 -o tcp.ratqm)
if(NOT TCP_RCS STREQUAL "0;0")
  message(FATAL_ERROR "TCP ranks exited ${TCP_RCS}")
endif()
same(ref.ratqm.ckpt tcp.ratqm.ckpt)
same_file(ref.ratqm tcp.ratqm)
# 3. resume across world sizes: 2 ranks stop at step 1, 1 rank finishes; 1 rank stops, 2 ranks finish
tcp_ranks(2 ${PORT} "" ${A} --batch 8 --stop-after 1 -o r21.ratqm)
run(0 ${RATQ} finetune ${A} --batch 16 --micro-batch 8 --resume -o r21.ratqm)
same(ref.ratqm.ckpt r21.ratqm.ckpt)
run(0 ${RATQ} finetune ${A} --batch 16 --micro-batch 8 --stop-after 1 -o r12.ratqm)
tcp_ranks(2 ${PORT} "" ${A} --batch 8 --resume -o r12.ratqm)
same(ref.ratqm.ckpt r12.ratqm.ckpt)
run(0 ${RATQ} finetune ${A} --batch 16 --micro-batch 8 --stop-after 1 -o bad.ratqm)
run(2 ${RATQ} finetune ${A} --batch 8 --resume -o bad.ratqm)
if(NOT LAST_ERR MATCHES "bad.ratqm.ckpt: global_batch: checkpoint has 16 images per step, this run 8")
  message(FATAL_ERROR "the global batch mismatch was not named")
endif()
# 4. a rank dies at step 2
tcp_ranks(2 ${PORT} "RATQ_FAULT_DIE=1:2" ${A} --batch 8 -o die.ratqm)
list(GET TCP_RCS 0 rc0)
if(NOT rc0 EQUAL 3 OR NOT TCP_ERR0 MATCHES "rank 0 of 2: step 2: .*rank 1 is gone" OR TCP_SECS GREATER 60)
  message(FATAL_ERROR "rank 0 did not exit 3 naming step 2 and rank 1 within the timeout")
endif()

# ... and a rank that hangs 15 s at step 2: rank 0's collective deadline (4 s) fires, it exits 3 naming the stall
tcp_ranks(2 ${PORT} "RATQ_FAULT_STALL=1:2:15;RATQ_DIST_TIMEOUT=4" ${A} --batch 8 -o stall.ratqm)
list(GET TCP_RCS 0 rc0)
list(GET TCP_RCS 1 rc1)
if(NOT rc0 EQUAL 3 OR NOT TCP_ERR0 MATCHES "rank 0 of 2: step 2: .*stalled for more than 4 s" OR rc1 EQUAL 0)
  message(FATAL_ERROR "a stalled rank: rank 0 exited ${rc0} (expected 3 naming the stall), rank 1 ${rc1}")
endif()

if(MPIRUN)
  run(0 ${MPIRUN} 2 ${RATQ} finetune ${A} --batch 8 -o mpi.ratqm)
  same(ref.ratqm.ckpt mpi.ratqm.ckpt)
  same_file(ref.ratqm mpi.ratqm)
  run(0 ${MPIRUN} 2 ${RATQ} finetune ${A} --batch 8 --stop-after 2 -o m21.ratqm)
  run(0 ${RATQ} finetune ${A} --batch 16 --micro-batch 8 --resume -o m21.ratqm)
  same(ref.ratqm.ckpt m21.ratqm.ckpt)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env RATQ_FAULT_DIE=1:2 RATQ_DIST_TIMEOUT=20 ${MPIRUN} 2 ${RATQ}
                  finetune ${A} --batch 8 -o mdie.ratqm WORKING_DIRECTORY ${WORK} RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 90)
  message(STATUS "mpirun with a dying rank: exit ${rc}\n${err}")
  if(rc EQUAL 0 OR NOT err MATCHES "RATQ_FAULT_DIE")
    message(FATAL_ERROR "mpirun with a dying rank exited ${rc}")
  endif()
endif()
message(STATUS "data-parallel finetune: all checks passed")
