# Foundation: the shared arithmetic, the CPU integer engine, `ratq check-vector`.
ratq_cpu_test(test_rescale SOURCES ${RATQ_TEST_DIR}/cpu/test_rescale.c)
ratq_cpu_test(test_quant_grid SOURCES ${RATQ_TEST_DIR}/cpu/test_quant_grid.c)
ratq_cpu_test(test_int_ops SOURCES ${RATQ_TEST_DIR}/cpu/test_int_ops.c)

set(RATQ_VECTORS ${RATQ_SHARED_DATA}/cmsis_nn_vectors)
# Every CMSIS-NN vector passes with TFLite double rounding (exit code 0 only if all pass)...
ratq_add_test(NAME check_vector_tflite NEEDS ${RATQ_VECTORS}
  COMMAND $<TARGET_FILE:ratq> check-vector ${RATQ_VECTORS} --rounding tflite)
# ...and single rounding agrees with each case's recorded verification.single_rounding_matches.
ratq_add_test(NAME check_vector_single NEEDS ${RATQ_VECTORS}
  COMMAND $<TARGET_FILE:ratq> check-vector ${RATQ_VECTORS} --rounding single)
# The k-bit report runs on every vector for several k.
ratq_add_test(NAME check_vector_rescale_bits NEEDS ${RATQ_VECTORS}
  COMMAND $<TARGET_FILE:ratq> check-vector ${RATQ_VECTORS} --rounding single --rescale-bits 4)
set_tests_properties(check_vector_tflite check_vector_single PROPERTIES
  PASS_REGULAR_EXPRESSION "\n16 passed, 0 failed\n")
set_tests_properties(check_vector_rescale_bits PROPERTIES
  PASS_REGULAR_EXPRESSION "k=4 single: [0-9]+ of 1193 outputs changed")

# Bad input: one line naming the file and field, exit code 2 (tests/cpu/check_cli.cmake mutates a real vector).
function(ratq_bad_vector_test name mutation expect)
  ratq_add_test(NAME check_vector_bad_${name} NEEDS ${RATQ_VECTORS}/basic.json
    COMMAND ${CMAKE_COMMAND} -DRATQ=$<TARGET_FILE:ratq> -DSRC=${RATQ_VECTORS}/basic.json
            -DWORK=${CMAKE_CURRENT_BINARY_DIR}/bad_vectors -DNAME=${name} -DMUTATION=${mutation}
            "-DEXPECT=${expect}" -P ${RATQ_TEST_DIR}/cpu/check_bad_vector.cmake)
endfunction()
ratq_bad_vector_test(missing_file missing_file "missing_file.json: cannot open")
ratq_bad_vector_test(truncated truncated "truncated.json: not valid JSON")
ratq_bad_vector_test(missing_field missing_field "missing_field.json: field 'stride_h': missing")
ratq_bad_vector_test(length_mismatch length_mismatch "length_mismatch.json: field 'input': has 39 values, input_shape needs 40")
ratq_bad_vector_test(unknown_kernel unknown_kernel "unknown_kernel.json: field 'kernel': unknown kernel")
ratq_bad_vector_test(wrong_format wrong_format "wrong_format.json: field 'format': expected")
ratq_bad_vector_test(shape_mismatch shape_mismatch "shape_mismatch.json: field 'out_h': inconsistent")
ratq_bad_vector_test(not_integer not_integer "not_integer.json: field 'input': element 0 is not an integer")

# GPU twin of the output stage (label gpu; exit 77 = skipped without a device).
ratq_gpu_test(test_requant_cuda SOURCES ${RATQ_TEST_DIR}/gpu/test_requant_cuda.cu)

# The tree's layering (tests/cpu/test_layers.py): folders include only lower stages, no include cycles.
find_program(RATQ_PYTHON3 python3)
if(RATQ_PYTHON3)
  add_test(NAME test_layers COMMAND ${RATQ_PYTHON3} ${RATQ_TEST_DIR}/cpu/test_layers.py ${PROJECT_SOURCE_DIR})
  set_tests_properties(test_layers PROPERTIES LABELS cpu TIMEOUT 60)
endif()
