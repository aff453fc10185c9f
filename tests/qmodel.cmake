# Integer model (host/qmodel*.c): build/save/load/run, `ratq export-c`, and every bad-input case of the loader.
set(RATQ_QMODEL_WORK ${CMAKE_CURRENT_BINARY_DIR}/qmodel_work)
file(MAKE_DIRECTORY ${RATQ_QMODEL_WORK})

ratq_cpu_test(test_qmodel_roundtrip SOURCES ${RATQ_TEST_DIR}/cpu/test_qmodel_roundtrip.c ARGS ${RATQ_QMODEL_WORK})

# export-c: the generated tree is compiled with the project's C compiler (plain make + cc flags) and must print
# the same lines as `ratq qmodel-info --image` and ratq_qmodel_run. Needs `make` at test time; when clang is
# installed the tree is also built with it (a second, independent compiler).
find_program(RATQ_QMODEL_CLANG clang)
if(NOT RATQ_QMODEL_CLANG)
  set(RATQ_QMODEL_CLANG "")
endif()
ratq_cpu_test(test_qmodel_export SOURCES ${RATQ_TEST_DIR}/cpu/test_qmodel_export.c
  ARGS $<TARGET_FILE:ratq> ${CMAKE_C_COMPILER} ${RATQ_QMODEL_WORK} "${RATQ_QMODEL_CLANG}")
add_dependencies(test_qmodel_export ratq)

# Bad input: one test per case (exit 2 + one line naming file, op and field); the case list is in the source.
add_executable(test_qmodel_bad ${RATQ_TEST_DIR}/cpu/test_qmodel_bad.c)
target_link_libraries(test_qmodel_bad PRIVATE ratq_host)
target_include_directories(test_qmodel_bad PRIVATE ${RATQ_TEST_DIR})
add_dependencies(test_qmodel_bad ratq)
foreach(case missing_file empty truncated_header truncated_op_fields truncated_weights truncated_bias
             truncated_rescale truncated_scales missing_ops wrong_magic wrong_version bad_k bad_rounding
             bad_input_scale zero_ops unknown_kind name_unterminated forward_input shape_mismatch conv_geometry
             zero_point_mismatch scale_mismatch n_weights_mismatch n_rescale_mismatch weight_minus_128
             rescale_m_range rescale_s_range zero_point_range clamp_order scale_nan weight_scale_negative
             avgpool_zero_point last_op_classes trailing_bytes export_existing_dir)
  add_test(NAME qmodel_bad_${case} COMMAND test_qmodel_bad ${case} $<TARGET_FILE:ratq> ${RATQ_QMODEL_WORK})
  set_tests_properties(qmodel_bad_${case} PROPERTIES LABELS cpu)
endforeach()
