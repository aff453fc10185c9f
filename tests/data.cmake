# tests/data.cmake — data pipeline tests (host/data*.c): decoder, sources, order, transforms, bad files.
# Most read ../shared/data (CIFAR-10 npz, imagenet_sample): skipped without it (NEEDS, tests/CMakeLists.txt).
set(_cifar ${RATQ_SHARED_DATA}/cifar10)
ratq_cpu_test(test_data_cifar_decode SOURCES ${RATQ_TEST_DIR}/cpu/test_data_cifar_decode.c
  NEEDS ${_cifar}/test.npz ${_cifar}/test_jpeg.npz)
ratq_cpu_test(test_data_transform SOURCES ${RATQ_TEST_DIR}/cpu/test_data_transform.c
  NEEDS ${_cifar}/test.npz ${_cifar}/test_jpeg.npz ${RATQ_SHARED_DATA}/imagenet_sample)
ratq_cpu_test(test_data_order SOURCES ${RATQ_TEST_DIR}/cpu/test_data_order.c)
ratq_cpu_test(test_data_sources SOURCES ${RATQ_TEST_DIR}/cpu/test_data_sources.c
  NEEDS ${_cifar}/test.npz ${_cifar}/test_jpeg.npz ${RATQ_SHARED_DATA}/imagenet_sample)
ratq_cpu_test(test_data_errors SOURCES ${RATQ_TEST_DIR}/cpu/test_data_errors.c ARGS $<TARGET_FILE:ratq>
  NEEDS ${_cifar}/test_jpeg.npz)
add_dependencies(test_data_errors ratq)
