# check_options.cmake — the option table of every ratq command (host/cli/options.h), cmake -P; -DRATQ=<ratq>.
# Every command's --help exits 0 and lists its options; every bad number, list or choice gets the same one-line
# error "ratq: CMD: --opt: ..." and exit 2 (expect_error.cmake), including the options that used to go through
# atoi / atof (hw, hw verify, hw emit, data-info) and so were never checked.
include(${CMAKE_CURRENT_LIST_DIR}/expect_error.cmake)
foreach(cmd eval check-vector hw "hw;verify" "hw;emit" data-info export-c qmodel-info quantize sweep finetune train run)
  execute_process(COMMAND ${RATQ} ${cmd} --help RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "^usage: ratq " OR NOT out MATCHES "\n  -" OR NOT err STREQUAL "")
    message(FATAL_ERROR "ratq ${cmd} --help: exit ${rc}, stdout:\n${out}\nstderr:\n${err}")
  endif()
endforeach()
set(cases
  "hw_jobs|hw: -j: 'x' is not an integer|hw^--generic^-j^x"
  "hw_delay|hw: --delay-target: '-1' is not a number > 0|hw^--liberty^l^--delay-target^-1"
  "hw_load|hw: --load: 'abc' is not a number|hw^--liberty^l^--load^abc"
  "hw_macs|hw: --macs: '4,-1' is not a list of integers|hw^--generic^--macs^4,-1"
  "verify_random|hw verify: --random: '1.5' is not an integer|hw^verify^--random^1.5"
  "verify_seed|hw verify: --seed: '-3' is not an integer|hw^verify^--seed^-3"
  "verify_max_acc|hw verify: --max-acc: '1e9' is not an integer|hw^verify^--max-acc^1e9"
  "emit_macs|hw emit: --macs: 'four' is not an integer|hw^emit^--macs^four^--bits^4"
  "emit_required|hw emit: --macs and --bits are required|hw^emit^--macs^4"
  "data_size|data-info: --size: '12px' is not an integer|data-info^p^--size^12px"
  "data_channels|data-info: --channels: '2' (expected 0, 1 or 3)|data-info^p^--channels^2"
  "data_workers|data-info: --workers: '-1' is not an integer|data-info^p^--workers^-1"
  "data_seed|data-info: --seed: 'x' is not an integer|data-info^p^--seed^x"
  "data_two_paths|data-info: unexpected argument 'q'|data-info^p^q"
  "data_no_path|data-info: PATH is required|data-info^--verify"
  "eval_batch|eval: --batch: '0' is not an integer in 1..4096|eval^--model^m^--data^d^--batch^0"
  "eval_transform|eval: --transform: 'crop' (expected auto, none or eval)|eval^--model^m^--data^d^--transform^crop"
  "eval_required|eval: --model and --data are required|eval^--data^d"
  "check_vector_bits|check-vector: --rescale-bits: '32' is not an integer in 1..31|check-vector^v.json^--rescale-bits^32"
  "export_rounding|export-c: --rounding: 'up' (expected single, tflite or half_even)|export-c^--model^m^-o^d^--rounding^up"
  "qmodel_bits|qmodel-info: --rescale-bits: '3.0' is not an integer|qmodel-info^--model^m^--rescale-bits^3.0"
  "quantize_calib|quantize: --calib-images: '-5' is not an integer|quantize^--model^m^--calib^c^--rescale-bits^4^-o^o^--calib-images^-5"
  "sweep_trailing_comma|sweep: --rescale-bits: '8,' is not a list of integers|sweep^--model^m^--calib^c^--data^d^--rescale-bits^8,"
  "finetune_momentum|finetune: --momentum: '1' is not a number in|finetune^--momentum^1"
  "finetune_lr_inf|finetune: --lr: 'inf' is not a number >= 0|finetune^--lr^inf"
  "finetune_timeout|finetune: --dist-timeout: '0' is not a number > 0|finetune^--dist-timeout^0"
  "finetune_device|finetune: --device: 'tpu' (expected cpu, cuda or cuda-host)|finetune^--device^tpu"
  "finetune_gemm|finetune: --gemm: 'fp16' (expected tf32, fp32 or bf16)|finetune^--gemm^fp16"
  "run_device|run: --device: 'cuda-resident' (expected cpu, cuda or cuda-host)|run^--device^cuda-resident"
  "train_seed|train: --seed: '-1' is not an integer|train^--seed^-1"
  "train_lr|train: --lr: '0' is not a number > 0|train^--lr^0"
  "run_epochs|run: --rat-epochs: '1001' is not an integer in 1..1000|run^--rat-epochs^1001"
  "run_value|run: option -o needs a value|run^-o")
foreach(c ${cases})
  string(REPLACE "|" ";" parts "${c}")
  string(REPLACE "^" ";" parts "${parts}")
  list(GET parts 0 name)
  list(GET parts 1 expect)
  list(SUBLIST parts 2 -1 args)
  ratq_expect_error(${name} "${expect}" ${RATQ} ${args})
endforeach()
