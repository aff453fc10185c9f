# Fast integer engine (kernels/cpu/int_fast.h) == the reference loops (int_ops.h), bit for bit.
ratq_cpu_test(test_int_fast SOURCES ${RATQ_TEST_DIR}/cpu/test_int_fast.c)
# Every CMSIS-NN vector (NEEDS: skipped without ../shared, a failure with RATQ_REQUIRE_SHARED=1).
ratq_cpu_test(test_int_fast_vectors SOURCES ${RATQ_TEST_DIR}/cpu/test_int_fast_vectors.c
              NEEDS ${RATQ_SHARED_DATA}/cmsis_nn_vectors)
# The whole integer Lite0 on 4 real images: every int8 activation, fast == ref (needs RATQ_LITE0_WEIGHTS and
# ../shared imagenet_sample: NEEDS). About a minute on 2 cores: label slow.
ratq_cpu_test(test_int_fast_lite0 SOURCES ${RATQ_TEST_DIR}/cpu/test_int_fast_lite0.c
              NEEDS ${RATQ_SHARED_DATA}/imagenet_sample ${RATQ_LITE0_WEIGHTS})
set_tests_properties(test_int_fast_lite0 PROPERTIES LABELS "cpu;slow" TIMEOUT 900)
set_property(TEST test_int_fast_lite0 APPEND PROPERTY ENVIRONMENT "RATQ_WEIGHTS=${RATQ_LITE0_WEIGHTS}")
