# Float CPU ops (kernels/cpu/float_*.c): backward vs central differences, fast vs plain-loop reference.
ratq_cpu_test(test_float_conv SOURCES ${RATQ_TEST_DIR}/cpu/test_float_conv.c)
ratq_cpu_test(test_float_dwconv SOURCES ${RATQ_TEST_DIR}/cpu/test_float_dwconv.c)
ratq_cpu_test(test_float_bn SOURCES ${RATQ_TEST_DIR}/cpu/test_float_bn.c)
ratq_cpu_test(test_float_gemm SOURCES ${RATQ_TEST_DIR}/cpu/test_float_gemm.c)
ratq_cpu_test(test_float_linear SOURCES ${RATQ_TEST_DIR}/cpu/test_float_linear.c)
ratq_cpu_test(test_float_elementwise SOURCES ${RATQ_TEST_DIR}/cpu/test_float_elementwise.c)
ratq_cpu_test(test_float_xent SOURCES ${RATQ_TEST_DIR}/cpu/test_float_xent.c)
ratq_cpu_test(test_float_optim SOURCES ${RATQ_TEST_DIR}/cpu/test_float_optim.c)

# The same GEMM test against the no-OpenBLAS fallback: compile float_gemm.c directly, without
# RATQ_HAVE_OPENBLAS and without linking ratq_kernels (so the fallback loop is what runs).
add_executable(test_float_gemm_plain ${RATQ_TEST_DIR}/cpu/test_float_gemm.c ${PROJECT_SOURCE_DIR}/kernels/cpu/float_gemm.c)
target_include_directories(test_float_gemm_plain PRIVATE ${RATQ_TEST_DIR} ${PROJECT_SOURCE_DIR}/kernels)
target_link_libraries(test_float_gemm_plain PRIVATE ${MATH_LIB})
if(OpenMP_C_FOUND)
  target_link_libraries(test_float_gemm_plain PRIVATE OpenMP::OpenMP_C)
endif()
add_test(NAME test_float_gemm_plain COMMAND test_float_gemm_plain)
set_tests_properties(test_float_gemm_plain PROPERTIES LABELS cpu)
