# CUDA backend benchmarks (only with CUDA). Run by scripts/gpu_check.sh (every build/benchmarks/bench_*).
if(RATQ_HAVE_CUDA)
  # bench_cuda_epilogue: fused conv+fake-quant epilogue vs conv + separate requantize kernels, Lite0 1x1 layers.
  add_executable(bench_cuda_epilogue ${CMAKE_CURRENT_SOURCE_DIR}/bench_cuda_epilogue.cu)
  target_link_libraries(bench_cuda_epilogue PRIVATE ratq_kernels_cuda ratq_kernels)
  set_target_properties(bench_cuda_epilogue PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/benchmarks)
endif()
