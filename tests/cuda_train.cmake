# CUDA training ops (kernels/cuda/train_ops_cuda.h): STE prologue, conv / depthwise / linear / pool backward,
# softmax cross-entropy, SGD and AdamW on the GPU.
if(RATQ_HAVE_CUDA)
  # Their element functions (kernels/cuda/train_elem.h) run on the host: compiled by nvcc, launches nothing, so it
  # runs (label cpu) without a GPU; bit-exact against the CPU twins.
  add_executable(test_cuda_ste_host ${RATQ_TEST_DIR}/cpu/test_cuda_ste_host.cu)
  target_link_libraries(test_cuda_ste_host PRIVATE ratq_kernels)
  target_include_directories(test_cuda_ste_host PRIVATE ${RATQ_TEST_DIR})
  add_test(NAME test_cuda_ste_host COMMAND test_cuda_ste_host)
  set_tests_properties(test_cuda_ste_host PROPERTIES LABELS cpu)
endif()
# Every training op on the GPU against its CPU twin on EfficientNet-Lite0 shapes, plus a bit-identical rerun
# (label gpu; exit 77 = skipped without a device).
ratq_gpu_test(test_cuda_train_ops SOURCES ${RATQ_TEST_DIR}/gpu/test_cuda_train_ops.cu)
