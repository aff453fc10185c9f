# tests/quant.cmake — quantizer and Rescale-Aware Training tests (host/quant_*.c, host/train_*.c).
# The lite0 test needs the converted pretrained weights (RATQ_LITE0_WEIGHTS, see tests/model.cmake; skipped without
# them) and calibrates on Fashion-MNIST (Debian), so it runs without ../shared.
ratq_cpu_test(test_quant_exact_tiny SOURCES ${RATQ_TEST_DIR}/cpu/test_quant_exact.c ARGS tiny)
ratq_cpu_test(test_quant_exact_lite0 SOURCES ${RATQ_TEST_DIR}/cpu/test_quant_exact.c ARGS lite0
  NEEDS ${RATQ_LITE0_WEIGHTS})
if(NOT DEFINED RATQ_LITE0_WEIGHTS)
  set(RATQ_LITE0_WEIGHTS ${CMAKE_BINARY_DIR}/weights/efficientnet-lite0.ratqw)
endif()
set_property(TEST test_quant_exact_lite0 APPEND PROPERTY ENVIRONMENT "RATQ_WEIGHTS=${RATQ_LITE0_WEIGHTS};RATQ_FASHION_MNIST=${RATQ_FMNIST}")
# RAT on real data (Fashion-MNIST from the Debian package dataset-fashion-mnist)
ratq_cpu_test(test_quant_rat SOURCES ${RATQ_TEST_DIR}/cpu/test_quant_rat.c)
set_property(TEST test_quant_rat APPEND PROPERTY ENVIRONMENT "OMP_NUM_THREADS=1;OPENBLAS_NUM_THREADS=1")
ratq_cpu_test(test_quant_ste SOURCES ${RATQ_TEST_DIR}/cpu/test_quant_ste.c)
ratq_cpu_test(test_quant_resume SOURCES ${RATQ_TEST_DIR}/cpu/test_quant_resume.c)
set_property(TEST test_quant_resume APPEND PROPERTY ENVIRONMENT "OMP_NUM_THREADS=1;OPENBLAS_NUM_THREADS=1")
# bad input to the quantize / sweep / finetune commands: exit 2 and one error line
add_test(NAME test_quant_cli_errors COMMAND ${CMAKE_COMMAND} -DRATQ=$<TARGET_FILE:ratq>
         -DWORK=${CMAKE_CURRENT_BINARY_DIR}/quant_cli -P ${RATQ_TEST_DIR}/cpu/check_quant_cli.cmake)
set_tests_properties(test_quant_cli_errors PROPERTIES LABELS cpu)
