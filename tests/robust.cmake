# tests/robust.cmake — issue 12 regressions outside the fuzzers: non-finite logits are wrong answers and fail the
# evaluation, invalid parameters and absurd header sizes are refused at load, errors are one line naming the file.
# Runs everywhere (Fashion-MNIST from Debian, models from tests/fuzz/corpus).
ratq_cpu_test(test_quant_nonfinite SOURCES ${RATQ_TEST_DIR}/cpu/test_quant_nonfinite.c)
set_property(TEST test_quant_nonfinite APPEND PROPERTY ENVIRONMENT "RATQ_FASHION_MNIST=${RATQ_FMNIST}")
ratq_add_test(NAME test_robust_cli COMMAND ${CMAKE_COMMAND} -DRATQ=$<TARGET_FILE:ratq>
  -DCORPUS=${RATQ_TEST_DIR}/fuzz/corpus -DDATA=${RATQ_FMNIST} -DWORK=${CMAKE_CURRENT_BINARY_DIR}/robust_cli
  -P ${RATQ_TEST_DIR}/cpu/check_robust_cli.cmake)
