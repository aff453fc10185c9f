# tests/run.cmake — `ratq run` (host/cli/cmd_run.c, host/cli/run_report.c, host/train/float_train.c): the whole pipeline on a
# reduced default (--quick: 320 Fashion-MNIST training images, 200 test images, a few SGD steps), run twice.
# Needs the Debian package dataset-fashion-mnist (or RATQ_FASHION_MNIST); fails loudly without it. The hardware
# stage uses ../shared/pdk when present (yosys + OpenSTA), results cached under the build folder.
set(RATQ_RUN_FMNIST /usr/share/datasets/fashion-mnist)
if(DEFINED ENV{RATQ_FASHION_MNIST})
  set(RATQ_RUN_FMNIST $ENV{RATQ_FASHION_MNIST})
endif()
add_executable(test_run_check ${RATQ_TEST_DIR}/cpu/test_run_check.c)
target_link_libraries(test_run_check PRIVATE ratq_host)
target_include_directories(test_run_check PRIVATE ${RATQ_TEST_DIR})
add_test(NAME test_run_quick COMMAND ${CMAKE_COMMAND} -DRATQ=$<TARGET_FILE:ratq> -DCHECK=$<TARGET_FILE:test_run_check>
         -DWORK=${CMAKE_CURRENT_BINARY_DIR}/run_quick -DVAL=${RATQ_RUN_FMNIST}/t10k
         -P ${RATQ_TEST_DIR}/cpu/check_run.cmake)
set_tests_properties(test_run_quick PROPERTIES LABELS cpu TIMEOUT 300
  ENVIRONMENT "RATQ_FASHION_MNIST=${RATQ_RUN_FMNIST};RATQ_HW_CACHE=${CMAKE_CURRENT_BINARY_DIR}/run_quick_hw_cache")
# The same pipeline on 2 MPI ranks: QAT and RAT data-parallel (needs Open MPI, installed by scripts/install_deps.sh).
if(MPI_C_FOUND AND MPIEXEC_EXECUTABLE)
  add_test(NAME test_run_ranks COMMAND ${CMAKE_COMMAND} -DRATQ=$<TARGET_FILE:ratq> -DCHECK=$<TARGET_FILE:test_run_check>
           -DWORK=${CMAKE_CURRENT_BINARY_DIR}/run_ranks -DVAL=${RATQ_RUN_FMNIST}/t10k
           "-DMPIRUN=${MPIEXEC_EXECUTABLE};--oversubscribe;--allow-run-as-root;${MPIEXEC_NUMPROC_FLAG}"
           -P ${RATQ_TEST_DIR}/cpu/check_run_ranks.cmake)
  set_tests_properties(test_run_ranks PROPERTIES LABELS cpu TIMEOUT 600
    ENVIRONMENT "RATQ_FASHION_MNIST=${RATQ_RUN_FMNIST}")
endif()
