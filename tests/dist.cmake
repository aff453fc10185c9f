# Distributed layer (host/dist/dist.h): collectives on 1 rank, 2 and 3 TCP ranks, 2 MPI ranks; fault drills.
ratq_cpu_test(test_dist SOURCES ${RATQ_TEST_DIR}/cpu/test_dist.c)
function(ratq_tcp_ranks_test name world port)
  cmake_parse_arguments(T "" "ARGS;EXPECT_RC0;EXPECT_STDERR;MAX_SECONDS" "" ${ARGN})
  set(extra "")
  foreach(v ARGS EXPECT_RC0 EXPECT_STDERR MAX_SECONDS)
    if(DEFINED T_${v})
      list(APPEND extra "-D${v}=${T_${v}}")
    endif()
  endforeach()
  add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} -DEXE=$<TARGET_FILE:test_dist> -DWORLD=${world} -DPORT=${port}
           ${extra} -P ${RATQ_TEST_DIR}/cpu/run_ranks.cmake)
  set_tests_properties(${name} PROPERTIES LABELS cpu TIMEOUT 120)
endfunction()
ratq_tcp_ranks_test(dist_tcp_2 2 29611)
ratq_tcp_ranks_test(dist_tcp_3 3 29612)
# Rank 1 vanishes at step 3: rank 0 must notice (EOF) and exit 3 naming itself, the step and the lost rank.
ratq_tcp_ranks_test(dist_tcp_rank_dies 2 29613 ARGS "--steps 10 --die-rank 1 --die-step 3" EXPECT_RC0 3
                    EXPECT_STDERR "rank 0 of 2: step 3: allreduce\\(mean\\): rank 1 is gone" MAX_SECONDS 30)
if(MPI_C_FOUND AND MPIEXEC_EXECUTABLE)
  set(RATQ_MPIRUN ${MPIEXEC_EXECUTABLE} --oversubscribe --allow-run-as-root ${MPIEXEC_NUMPROC_FLAG})
  add_test(NAME dist_mpi_2 COMMAND ${RATQ_MPIRUN} 2 $<TARGET_FILE:test_dist>)
  # Open MPI's own allocations are not freed at exit: no leak check under ASan for the MPI jobs.
  set_tests_properties(dist_mpi_2 PROPERTIES LABELS cpu TIMEOUT 120 PASS_REGULAR_EXPRESSION "rank 1 of 2 \\(mpi\\)"
                       ENVIRONMENT "ASAN_OPTIONS=detect_leaks=0")
  # A killed MPI rank: mpirun tears the job down and exits non-zero, within the timeout.
  add_test(NAME dist_mpi_rank_dies COMMAND ${RATQ_MPIRUN} 2 $<TARGET_FILE:test_dist> --steps 10 --die-rank 1 --die-step 3)
  set_tests_properties(dist_mpi_rank_dies PROPERTIES LABELS cpu TIMEOUT 60 WILL_FAIL TRUE
                       ENVIRONMENT "ASAN_OPTIONS=detect_leaks=0")
endif()

# The real NCCL path on a GPU (one rank in scripts/gpu_check.sh); label gpu;multigpu, 77 without a device.
if(RATQ_HAVE_NCCL)
  ratq_gpu_test(test_nccl SOURCES ${RATQ_TEST_DIR}/gpu/test_nccl.c LABELS multigpu)
endif()

# Data-parallel `ratq finetune` (tests/cpu/dist_finetune.cmake): 2 ranks x B == 1 rank x 2B bit for bit, resume
# across world sizes, a dying rank.
add_executable(ckpt_compare ${RATQ_TEST_DIR}/cpu/ckpt_compare.c)
target_link_libraries(ckpt_compare PRIVATE m)
set(_fmnist /usr/share/datasets/fashion-mnist) # Debian dataset-fashion-mnist; RATQ_FASHION_MNIST overrides
if(DEFINED ENV{RATQ_FASHION_MNIST})
  set(_fmnist $ENV{RATQ_FASHION_MNIST})
endif()
set(_mpirun "")
if(MPI_C_FOUND AND MPIEXEC_EXECUTABLE)
  set(_mpirun "${RATQ_MPIRUN}")
endif()
add_test(NAME dist_finetune COMMAND ${CMAKE_COMMAND} -DRATQ=$<TARGET_FILE:ratq> -DCMP=$<TARGET_FILE:ckpt_compare>
         -DDATA=${_fmnist} -DWORK=${CMAKE_CURRENT_BINARY_DIR}/dist_finetune -DPORT=29614
         "-DMPIRUN=${_mpirun}" -P ${RATQ_TEST_DIR}/cpu/dist_finetune.cmake)
set_tests_properties(dist_finetune PROPERTIES LABELS cpu TIMEOUT 600)
