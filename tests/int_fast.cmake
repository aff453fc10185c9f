# Fast integer engine (kernels/cpu/int_fast.h) == the reference loops (int_ops.h), bit for bit.
ratq_cpu_test(test_int_fast SOURCES ${RATQ_TEST_DIR}/cpu/test_int_fast.c)
# Every CMSIS-NN vector (exit 77 = skipped without ../shared, a failure with RATQ_REQUIRE_SHARED=1).
ratq_cpu_test(test_int_fast_vectors SOURCES ${RATQ_TEST_DIR}/cpu/test_int_fast_vectors.c)
set_tests_properties(test_int_fast_vectors PROPERTIES SKIP_RETURN_CODE 77)
# The whole integer Lite0 on 4 real images: every int8 activation, fast == ref (needs RATQ_LITE0_WEIGHTS and
# ../shared; exit 77 without ../shared). About a minute on 2 cores: label slow.
ratq_cpu_test(test_int_fast_lite0 SOURCES ${RATQ_TEST_DIR}/cpu/test_int_fast_lite0.c)
if(NOT DEFINED RATQ_LITE0_WEIGHTS)
  set(RATQ_LITE0_WEIGHTS ${CMAKE_BINARY_DIR}/weights/efficientnet-lite0.ratqw)
endif()
set_tests_properties(test_int_fast_lite0 PROPERTIES SKIP_RETURN_CODE 77 LABELS "cpu;slow" TIMEOUT 900)
set_property(TEST test_int_fast_lite0 APPEND PROPERTY ENVIRONMENT "RATQ_WEIGHTS=${RATQ_LITE0_WEIGHTS}")
