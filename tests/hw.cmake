# hw: RTL of the k-bit rescaler / N-MAC dot-product unit (host/hw_*.c). Needs iverilog (bit-exact simulation),
# yosys and OpenSTA `sta` (synthesis); the tests fail, not skip, when a tool is missing.
ratq_cpu_test(test_hw_verify SOURCES cpu/test_hw_verify.c)
ratq_cpu_test(test_hw_synth SOURCES cpu/test_hw_synth.c)
set_tests_properties(test_hw_synth PROPERTIES ENVIRONMENT
  "RATQ_SHARED_DATA=${RATQ_SHARED_DATA};RATQ_TEST_DIR=${RATQ_TEST_DIR};RATQ_PDK=${RATQ_SHARED_DIR}/pdk")
# The full sweep: every k = 1..32, N = 1, 4, 8, 16 (a few minutes).
add_test(NAME test_hw_verify_full COMMAND test_hw_verify --full)
set_tests_properties(test_hw_verify_full PROPERTIES LABELS "cpu;slow"
  ENVIRONMENT "RATQ_SHARED_DATA=${RATQ_SHARED_DATA};RATQ_TEST_DIR=${RATQ_TEST_DIR}")
