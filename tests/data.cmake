# tests/data.cmake — data pipeline tests (host/data*.c): decoder, sources, order, transforms, bad files.
ratq_cpu_test(test_data_cifar_decode SOURCES ${RATQ_TEST_DIR}/cpu/test_data_cifar_decode.c)
ratq_cpu_test(test_data_transform SOURCES ${RATQ_TEST_DIR}/cpu/test_data_transform.c)
ratq_cpu_test(test_data_order SOURCES ${RATQ_TEST_DIR}/cpu/test_data_order.c)
ratq_cpu_test(test_data_sources SOURCES ${RATQ_TEST_DIR}/cpu/test_data_sources.c)
ratq_cpu_test(test_data_errors SOURCES ${RATQ_TEST_DIR}/cpu/test_data_errors.c ARGS $<TARGET_FILE:ratq>)
add_dependencies(test_data_errors ratq)
