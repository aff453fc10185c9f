# tests/rat_gpu.cmake — GPU-resident Rescale-Aware Training (host/train/rat_step_cuda.h), its device quantization, loss
# and fused backward (kernels/cuda/quantize_elem.h, kernels/cpu/float_loss_elem.h, kernels/cuda/fused_elem.h), the
# streaming input (host/data/stream.h) and the torchrun / NCCL fault handling of host/dist.
#
# label cpu (run anywhere; each file's header states what it compares):
#   test_quantize_elem        device quantization element functions == ratq_qnet_quantize, tiny network (plain C)
#   test_quantize_elem_lite0  the same on EfficientNet-Lite0 (exit 77 without the weights file)
#   test_rat_loss             the shared RAT loss (ratq_rat_loss_cpu) == the loop's formulas, bit for bit (plain C)
#   test_rat_loop_pipelined   the RAT loop's pipelined path (the order of --device cuda) on a CPU mock device
ratq_cpu_test(test_quantize_elem SOURCES ${RATQ_TEST_DIR}/cpu/test_quantize_elem.c ARGS tiny)
ratq_cpu_test(test_quantize_elem_lite0 SOURCES ${RATQ_TEST_DIR}/cpu/test_quantize_elem.c ARGS lite0)
set_tests_properties(test_quantize_elem_lite0 PROPERTIES SKIP_RETURN_CODE 77)
set_property(TEST test_quantize_elem_lite0 APPEND PROPERTY ENVIRONMENT "RATQ_WEIGHTS=${RATQ_LITE0_WEIGHTS}")
ratq_cpu_test(test_rat_loss SOURCES ${RATQ_TEST_DIR}/cpu/test_rat_loss.c)
# test_rat_loop_pipelined: the loop's pipelined order (--device cuda's) through an injected CPU "device" table that
# checks the stage / submit / collect contract: bit-identical to the phase loop, resumes, a NaN loss stops it.
ratq_cpu_test(test_rat_loop_pipelined SOURCES ${RATQ_TEST_DIR}/cpu/test_rat_loop_pipelined.c)
set_property(TEST test_rat_loop_pipelined APPEND PROPERTY ENVIRONMENT "OMP_NUM_THREADS=1;OPENBLAS_NUM_THREADS=1")
if(RATQ_HAVE_CUDA)
  # test_cuda_fused_host: the fused backward's and the float teacher's element functions on the host (nvcc-compiled,
  # launches nothing): bit-exact against the unfused CPU sequence.
  add_executable(test_cuda_fused_host ${RATQ_TEST_DIR}/cpu/test_cuda_fused_host.cu)
  target_link_libraries(test_cuda_fused_host PRIVATE ratq_kernels)
  target_include_directories(test_cuda_fused_host PRIVATE ${RATQ_TEST_DIR})
  add_test(NAME test_cuda_fused_host COMMAND test_cuda_fused_host)
  set_tests_properties(test_cuda_fused_host PROPERTIES LABELS cpu)
endif()
# test_data_stream: the RAT input stream against its definition; the JPEG tree listing rules.
ratq_cpu_test(test_data_stream SOURCES ${RATQ_TEST_DIR}/cpu/test_data_stream.c)
# test_dist_env: torchrun variables, torchrun's agent store port, precedence, and the deadline guard / fault hook that
# NCCL waits run under (forked ranks on 127.0.0.1, ports 29631-29633).
ratq_cpu_test(test_dist_env SOURCES ${RATQ_TEST_DIR}/cpu/test_dist_env.c)
set_tests_properties(test_dist_env PROPERTIES TIMEOUT 120)

# label gpu (exit 77 without a device; tests/gpu/test_rat_step_cuda.c states each comparison and tolerance):
#   test_rat_step_cuda_quant   device quantization == ratq_qnet_quantize bit for bit (tiny, Lite0)
#   test_rat_step_cuda_tiny    one GPU step vs the CPU step (5 configurations), reruns and graph replay bit-identical
#   test_rat_step_cuda_lite0   the same on EfficientNet-Lite0, 8 images
#   test_rat_step_cuda_resume  checkpoint resume bit-identical; CPU step from a GPU checkpoint within tolerance
#   test_rat_step_cuda_loop    ratq_rat_train with --device cuda (the pipelined loop, graphs) vs the CPU; rerun, stop +
#                              resume, --no-cuda-graphs and the benchmark's stage / step path bit-identical
#   test_rat_step_cuda_nccl    the NCCL path on one rank (buckets, scalars, watchdog wait), eager and captured in the
#                              step graph, bit-identical to without
foreach(mode quant tiny lite0 resume loop nccl)
  ratq_gpu_test(test_rat_step_cuda_${mode} SOURCES ${RATQ_TEST_DIR}/gpu/test_rat_step_cuda.c ARGS ${mode})
  if(TARGET test_rat_step_cuda_${mode})
    set_property(TEST test_rat_step_cuda_${mode} APPEND PROPERTY ENVIRONMENT "RATQ_WEIGHTS=${RATQ_LITE0_WEIGHTS}")
    set_tests_properties(test_rat_step_cuda_${mode} PROPERTIES TIMEOUT 300)
  endif()
endforeach()
