# tests/train.cmake — guards of the training and checkpoint code (host/train/): checkpoint checksums, stale temps,
# non-finite losses and saves, the JSON-lines log on resume and on a full disk (test_train_guard: library level),
# the same through the ratq command (check_train_cli.cmake), and the option table of every command
# (check_options.cmake). Fashion-MNIST from the Debian package dataset-fashion-mnist (or RATQ_FASHION_MNIST).
ratq_cpu_test(test_train_guard SOURCES ${RATQ_TEST_DIR}/cpu/test_train_guard.c)
set_property(TEST test_train_guard APPEND PROPERTY ENVIRONMENT "OMP_NUM_THREADS=1;OPENBLAS_NUM_THREADS=1")
set(_guard_fmnist /usr/share/datasets/fashion-mnist)
if(DEFINED ENV{RATQ_FASHION_MNIST})
  set(_guard_fmnist $ENV{RATQ_FASHION_MNIST})
endif()
add_test(NAME test_train_cli COMMAND ${CMAKE_COMMAND} -DRATQ=$<TARGET_FILE:ratq> -DDATA=${_guard_fmnist}
         -DWORK=${CMAKE_CURRENT_BINARY_DIR}/train_cli -P ${RATQ_TEST_DIR}/cpu/check_train_cli.cmake)
set_tests_properties(test_train_cli PROPERTIES LABELS cpu TIMEOUT 300)
add_test(NAME test_cli_options COMMAND ${CMAKE_COMMAND} -DRATQ=$<TARGET_FILE:ratq>
         -P ${RATQ_TEST_DIR}/cpu/check_options.cmake)
set_tests_properties(test_cli_options PROPERTIES LABELS cpu)
