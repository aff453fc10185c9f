# GPU-resident RAT (host/train/rat_step_cuda.h) and its input pipeline. Run by scripts/gpu_check.sh (every
# build/benchmarks/bench_*); each prints a Markdown table and `RESULT name=value` lines.
if(RATQ_HAVE_CUDA)
  # bench_rat_step_cuda: Lite0 batch 128 RAT step images/s (TF32 / FP32 / bf16, graph / eager, and the host-driven
  # path), validated against the CPU first.
  add_executable(bench_rat_step_cuda ${CMAKE_CURRENT_SOURCE_DIR}/bench_rat_step_cuda.c)
  target_link_libraries(bench_rat_step_cuda PRIVATE ratq_host)
  target_compile_definitions(bench_rat_step_cuda PRIVATE RATQ_BENCH_WEIGHTS="${RATQ_LITE0_WEIGHTS}")
  set_target_properties(bench_rat_step_cuda PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/benchmarks)
endif()
# bench_data_stream (CPU): JPEG-tree listing start-up (vs the per-file stat listing it replaced) and the streaming
# input's decode + augmentation images/s per core, on 224x224 and ImageNet-size JPEGs.
add_executable(bench_data_stream ${CMAKE_CURRENT_SOURCE_DIR}/bench_data_stream.c)
target_link_libraries(bench_data_stream PRIVATE ratq_host)
set_target_properties(bench_data_stream PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/benchmarks)
