# The GPU machine's one call rehearsed here (label cpu): scripts/gpu_check.sh --rehearse on a pack made by the current
# scripts/gpu_pack.sh — unpack, configure with only the pack visible, build ratq + GPU tests + CUDA benchmarks, load
# the packed data and weights — stopping before the first GPU command (tests/gpu/gpu_rehearsal.sh). A few minutes on
# 2 cores (a second, CUDA arch 90 build); needs nvcc, network to Debian (apt-get download, cached in the build
# folder), ../shared/data and the Lite0 weights (exit 77 without them unless RATQ_REQUIRE_SHARED=1).
if(RATQ_HAVE_CUDA)
  add_test(NAME gpu_rehearsal COMMAND ${RATQ_TEST_DIR}/gpu/gpu_rehearsal.sh ${PROJECT_SOURCE_DIR}
           ${CMAKE_BINARY_DIR}/gpu-rehearsal ${RATQ_LITE0_WEIGHTS} ${RATQ_SHARED_DATA})
  set_tests_properties(gpu_rehearsal PROPERTIES LABELS cpu SKIP_RETURN_CODE 77 TIMEOUT 1500 RUN_SERIAL TRUE)
endif()
# test_gpu_summary (label cpu): scripts/gpu_summary.py, the summary of that call, on stage outputs made up by the test:
# the loop's step from the two finetune runs, each target ratio of issues 13 / 15 and its PASS / FAIL, missing figures.
find_program(RATQ_PYTHON3 python3)
if(RATQ_PYTHON3)
  add_test(NAME test_gpu_summary COMMAND ${RATQ_PYTHON3} ${RATQ_TEST_DIR}/cpu/test_gpu_summary.py ${PROJECT_SOURCE_DIR})
  set_tests_properties(test_gpu_summary PROPERTIES LABELS cpu TIMEOUT 60)
endif()
