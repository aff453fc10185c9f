# CUDA backend (kernels/cuda/): forward integer ops with the fused requantization epilogue.
if(RATQ_HAVE_CUDA)
  # The epilogue functor run on the host: compiled by nvcc, launches nothing, so it runs (label cpu) without a GPU.
  add_executable(test_cuda_epilogue_host ${RATQ_TEST_DIR}/cpu/test_cuda_epilogue_host.cu)
  target_link_libraries(test_cuda_epilogue_host PRIVATE ratq_kernels)
  target_include_directories(test_cuda_epilogue_host PRIVATE ${RATQ_TEST_DIR})
  add_test(NAME test_cuda_epilogue_host COMMAND test_cuda_epilogue_host)
  set_tests_properties(test_cuda_epilogue_host PROPERTIES LABELS cpu)
  # The GEMM kernel's index and vector-width logic (kernels/cuda/gemm_s8_tile.cuh) replayed on the host for every
  # thread of a block: tile loads, fragment coordinates, the fused and int32 stores, the launcher's widths.
  add_executable(test_cuda_gemm_tile_host ${RATQ_TEST_DIR}/cpu/test_cuda_gemm_tile_host.cu)
  target_link_libraries(test_cuda_gemm_tile_host PRIVATE ratq_math)
  target_include_directories(test_cuda_gemm_tile_host PRIVATE ${RATQ_TEST_DIR} ${PROJECT_SOURCE_DIR}/kernels)
  add_test(NAME test_cuda_gemm_tile_host COMMAND test_cuda_gemm_tile_host)
  set_tests_properties(test_cuda_gemm_tile_host PROPERTIES LABELS cpu)
endif()
# Every forward CUDA op against its CPU twin: int8 outputs, STE masks and int32 accumulators identical
# (label gpu; exit 77 = skipped without a device).
ratq_gpu_test(test_cuda_int_ops SOURCES ${RATQ_TEST_DIR}/gpu/test_cuda_int_ops.cu)
