# tests/quant_cuda.cmake — the fake-quant network on the GPU (host/quant/qnet_cuda.h) and RAT with --device cuda /
# cuda-host (host/train/rat_train.c) against the CPU. Label gpu: exit 77 (skipped) without a CUDA device; not registered in a build
# without CUDA. tests/gpu/test_quant_cuda.c states what each compares and its tolerances.
#   tiny : forward bit-exact + backward per-op gradients, tiny network, random weights and images
#   lite0: the same on EfficientNet-Lite0 (RATQ_LITE0_WEIGHTS) and ../shared/data/imagenet_sample; FAILS without them
#   train: two RAT steps cpu vs cuda-host (FP32), cuda (FP32, TF32) on ../shared/data/cifar10/test.npz, a bit-identical
#          GPU rerun
ratq_gpu_test(test_quant_cuda_tiny SOURCES ${RATQ_TEST_DIR}/gpu/test_quant_cuda.c ARGS tiny)
ratq_gpu_test(test_quant_cuda_lite0 SOURCES ${RATQ_TEST_DIR}/gpu/test_quant_cuda.c ARGS lite0)
ratq_gpu_test(test_quant_cuda_train SOURCES ${RATQ_TEST_DIR}/gpu/test_quant_cuda.c ARGS train)
if(TARGET test_quant_cuda_lite0)
  set_property(TEST test_quant_cuda_lite0 APPEND PROPERTY ENVIRONMENT "RATQ_WEIGHTS=${RATQ_LITE0_WEIGHTS}")
endif()
