# test_hw_generic_errors.cmake — bad input of `ratq hw --generic`: exit 2 and exactly one stderr line each
# (expect_error.cmake), before any tool runs. Args: RATQ (the ratq executable), WORK (a scratch folder).
include(${CMAKE_CURRENT_LIST_DIR}/expect_error.cmake)
file(MAKE_DIRECTORY ${WORK})
file(WRITE ${WORK}/some.lib "library (x) { }\n")
ratq_expect_error(generic_and_liberty "--generic and --liberty are mutually exclusive"
  ${RATQ} hw --generic --liberty ${WORK}/some.lib --macs 0 --bits 4 -o ${WORK}/cache)
ratq_expect_error(liberty_and_generic "--generic and --liberty are mutually exclusive"
  ${RATQ} hw --liberty ${WORK}/some.lib --generic -o ${WORK}/cache)
ratq_expect_error(generic_area_flow "--area-flow applies to the Liberty flow only"
  ${RATQ} hw --generic --area-flow --macs 0 --bits 4 -o ${WORK}/cache)
ratq_expect_error(generic_delay_target "--delay-target applies to the Liberty flow only"
  ${RATQ} hw --generic --delay-target 10 --macs 0 --bits 4 -o ${WORK}/cache)
ratq_expect_error(generic_no_yosys "cannot run (install yosys, or set RATQ_YOSYS)"
  ${CMAKE_COMMAND} -E env RATQ_YOSYS=${WORK}/no-such-yosys ${RATQ} hw --generic --macs 0 --bits 4 -o ${WORK}/cache)
ratq_expect_error(generic_bad_bits "--bits: '0' is not a list of integers in 1..32"
  ${RATQ} hw --generic --macs 0 --bits 0 -o ${WORK}/cache)
ratq_expect_error(no_flow "--liberty FILE (or --generic, the library-free proxy) is required"
  ${RATQ} hw --macs 0 --bits 4 -o ${WORK}/cache)
