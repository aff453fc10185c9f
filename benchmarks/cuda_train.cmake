# CUDA training-op benchmarks (only with CUDA). Run by scripts/gpu_check.sh (every build/benchmarks/bench_*).
if(RATQ_HAVE_CUDA)
  # bench_cuda_train: depthwise backward (every Lite0 depthwise layer) and the STE prologue; validates first.
  add_executable(bench_cuda_train ${CMAKE_CURRENT_SOURCE_DIR}/bench_cuda_train.cu)
  target_link_libraries(bench_cuda_train PRIVATE ratq_kernels_cuda ratq_kernels)
  set_target_properties(bench_cuda_train PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/benchmarks)
endif()
