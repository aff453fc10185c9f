# check_quant_cli.cmake — bad input to `ratq quantize / sweep / finetune`: each case must exit 2 with exactly one
# stderr line containing the expected text. Args: RATQ WORK. Case: "name|expected text|arg^arg^...".
include(${CMAKE_CURRENT_LIST_DIR}/expect_error.cmake)
file(MAKE_DIRECTORY ${WORK})
file(WRITE ${WORK}/garbage.ratqw "not a weight file")
set(cases
  "missing_model|garbage.ratqw|quantize^--model^${WORK}/garbage.ratqw^--calib^${WORK}^--rescale-bits^4^-o^${WORK}/o.ratqm"
  "absent_model|nope.ratqw|quantize^--model^${WORK}/nope.ratqw^--calib^${WORK}^--rescale-bits^4^-o^${WORK}/o.ratqm"
  "bits_zero|--rescale-bits|quantize^--model^m^--calib^c^--rescale-bits^0^-o^o"
  "bits_list|--rescale-bits|sweep^--model^m^--calib^c^--data^d^--rescale-bits^8,x"
  "rounding|--rounding|sweep^--model^m^--calib^c^--data^d^--rounding^nearest"
  "required|required|finetune^--model^m^--data^d"
  "unknown|unknown option|finetune^--frobnicate"
  "unknown_sweep|unknown option|sweep^--frobnicate^x"
  "no_value|needs a value|quantize^--model"
  "lr|--lr|finetune^--lr^abc"
  "teacher|--teacher|finetune^--teacher^gpt")
foreach(c ${cases})
  string(REPLACE "|" ";" parts "${c}")
  string(REPLACE "^" ";" parts "${parts}")
  list(GET parts 0 name)
  list(GET parts 1 expect)
  list(SUBLIST parts 2 -1 args)
  ratq_expect_error(${name} "${expect}" ${RATQ} ${args})
endforeach()
