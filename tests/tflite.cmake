# TFLite interop (host/cli/cmd_export_tflite.c, cmd_import_tflite.c, cmd_qmodel_trace.c, scripts/tflite/):
# export / import round trips, LiteRT's interpreter (ai-edge-litert from PyPI, scripts/tflite/requirements.txt)
# as the judge of every op, and every bad-input case of both commands. Needs bash and that Python
# ($RATQ_PYTHON or python3; scripts/install_deps.sh installs the packages).
set(RATQ_TFLITE_WORK ${CMAKE_CURRENT_BINARY_DIR}/tflite_work)
set(RATQ_TFLITE_FMNIST /usr/share/datasets/fashion-mnist)
if(DEFINED ENV{RATQ_FASHION_MNIST})
  set(RATQ_TFLITE_FMNIST $ENV{RATQ_FASHION_MNIST})
endif()
add_test(NAME test_tflite_tiny COMMAND bash ${RATQ_TEST_DIR}/cpu/check_tflite_tiny.sh $<TARGET_FILE:ratq>
         ${RATQ_TFLITE_WORK}/tiny ${RATQ_TFLITE_FMNIST} ${PROJECT_SOURCE_DIR})
set_tests_properties(test_tflite_tiny PROPERTIES LABELS cpu TIMEOUT 600 FIXTURES_SETUP tflite_tiny)

add_test(NAME test_tflite_lite0 COMMAND bash ${RATQ_TEST_DIR}/cpu/check_tflite_lite0.sh $<TARGET_FILE:ratq>
         ${RATQ_TFLITE_WORK}/lite0 ${RATQ_LITE0_WEIGHTS} ${RATQ_SHARED_DATA} ${PROJECT_SOURCE_DIR} 8)
set_tests_properties(test_tflite_lite0 PROPERTIES LABELS "cpu;slow" TIMEOUT 900 SKIP_RETURN_CODE 77)

foreach(case export_missing export_magic export_truncated export_padding export_unwritable export_option
             import_missing import_empty import_magic import_truncated import_unsupported_op import_float_tensor
             import_per_channel_activation import_asymmetric_weights import_quantized_dimension
             import_weight_minus_128 import_two_subgraphs import_mean_axis import_option)
  add_test(NAME tflite_bad_${case} COMMAND bash ${RATQ_TEST_DIR}/cpu/check_tflite_bad.sh ${case} $<TARGET_FILE:ratq>
           ${RATQ_TFLITE_WORK}/bad ${RATQ_TFLITE_WORK}/tiny)
  set_tests_properties(tflite_bad_${case} PROPERTIES LABELS cpu FIXTURES_REQUIRED tflite_tiny)
endforeach()
