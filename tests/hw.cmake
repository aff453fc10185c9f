# hw: RTL of the k-bit rescaler / N-MAC dot-product unit (host/hw_*.c). Needs iverilog (bit-exact simulation),
# yosys and OpenSTA `sta` (synthesis); the tests fail, not skip, when a tool is missing.
# test_hw_verify takes its real accumulators from ../shared/data/cmsis_nn_vectors (skipped without them);
# test_hw_verify_synthetic runs the same checks with a generated accumulator dump instead, everywhere.
ratq_cpu_test(test_hw_verify SOURCES cpu/test_hw_verify.c NEEDS ${RATQ_SHARED_DATA}/cmsis_nn_vectors)
ratq_add_test(NAME test_hw_verify_synthetic COMMAND $<TARGET_FILE:test_hw_verify> --synthetic)
set(RATQ_NANGATE_LIB ${RATQ_SHARED_DIR}/pdk/nangate15/NanGate_15nm_OCL_typical_conditional_nldm.lib)
ratq_cpu_test(test_hw_synth SOURCES cpu/test_hw_synth.c NEEDS ${RATQ_NANGATE_LIB})
set_tests_properties(test_hw_synth PROPERTIES ENVIRONMENT
  "RATQ_SHARED_DATA=${RATQ_SHARED_DATA};RATQ_TEST_DIR=${RATQ_TEST_DIR};RATQ_PDK=${RATQ_SHARED_DIR}/pdk")
# The full sweep: every k = 1..32, N = 1, 4, 8, 16 (a few minutes).
add_test(NAME test_hw_verify_full COMMAND test_hw_verify --full)
set_tests_properties(test_hw_verify_full PROPERTIES LABELS "cpu;slow"
  ENVIRONMENT "RATQ_SHARED_DATA=${RATQ_SHARED_DATA};RATQ_TEST_DIR=${RATQ_TEST_DIR}")

# Real EfficientNet-Lite0 accumulators (every CONV/DW/FC layer, 2 images) through the rescaler RTL at k = 2, 4, 8.
# Needs the converted weights (tests/model.cmake: RATQ_LITE0_WEIGHTS) and iverilog; label slow (one simulation
# per layer and k).
ratq_cpu_test(test_hw_lite0_acc SOURCES ${RATQ_TEST_DIR}/cpu/test_hw_lite0_acc.c ARGS ${CMAKE_CURRENT_BINARY_DIR}/hw_lite0_acc
  NEEDS ${RATQ_LITE0_WEIGHTS} ${RATQ_SHARED_DATA}/imagenet_sample)
file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/hw_lite0_acc)
set_tests_properties(test_hw_lite0_acc PROPERTIES LABELS "cpu;slow" TIMEOUT 1200
  ENVIRONMENT "RATQ_WEIGHTS=${RATQ_LITE0_WEIGHTS};RATQ_SHARED_DATA=${RATQ_SHARED_DATA}")

# Library-free proxy (`ratq hw --generic`, hw/generic.h): needs yosys (and iverilog for the netlist simulation),
# no Liberty library, no OpenSTA. Maps N = 0, 4 at k = 32, 8, 4, 1 into a fresh cache (~30 s on 2 cores).
ratq_cpu_test(test_hw_generic SOURCES cpu/test_hw_generic.c ARGS $<TARGET_FILE:ratq>)
set_tests_properties(test_hw_generic PROPERTIES TIMEOUT 300)
add_test(NAME test_hw_generic_errors COMMAND ${CMAKE_COMMAND} -DRATQ=$<TARGET_FILE:ratq>
  -DWORK=${CMAKE_CURRENT_BINARY_DIR}/hw_generic_errors -P ${RATQ_TEST_DIR}/cpu/test_hw_generic_errors.cmake)
set_tests_properties(test_hw_generic_errors PROPERTIES LABELS cpu)
