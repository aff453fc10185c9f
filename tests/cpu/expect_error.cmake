# expect_error.cmake — the bad-input contract of every ratq command, checked once: running COMMAND... must exit 2
# and print exactly one stderr line containing EXPECT. Included by the cmake -P test scripts.
function(ratq_expect_error name expect)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE so ERROR_VARIABLE se)
  string(STRIP "${se}" se_stripped)
  string(FIND "${se}" "${expect}" pos)
  string(REGEX MATCHALL "\n" newlines "${se_stripped}")
  list(LENGTH newlines extra_lines)
  if(NOT rc EQUAL 2 OR pos EQUAL -1 OR NOT extra_lines EQUAL 0)
    message(FATAL_ERROR "case ${name}: want exit 2 and one stderr line containing '${expect}'\n"
                        "got exit ${rc}, stderr:\n${se}\nstdout:\n${so}")
  endif()
  message(STATUS "${name}: exit ${rc}: ${se_stripped}")
endfunction()
