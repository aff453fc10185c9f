# check_run_ranks.cmake — `ratq run --quick` on 2 MPI ranks (cmake -P; tests/run.cmake).
#   -DRATQ=<ratq> -DCHECK=<test_run_check> -DWORK=<folder> -DVAL=<validation data> -DMPIRUN=<mpirun ...;-np>
# The QAT and RAT stages train data-parallel on both ranks (host/cli/run.h); rank 0 writes every artifact. Verdicts:
# exit 0; test_run_check (every artifact, the k=4 accuracy recomputed from the saved model by the integer engine
# equals the recorded one and the report's); the RAT artifacts say they ran on 2 ranks; only rank 0 printed the
# summary.
file(REMOVE_RECURSE ${WORK})
set(ENV{OMP_NUM_THREADS} 1)
set(ENV{OPENBLAS_NUM_THREADS} 1)
set(ENV{ASAN_OPTIONS} detect_leaks=0) # Open MPI's allocations are not freed at exit
execute_process(COMMAND ${MPIRUN} 2 ${RATQ} run --quick --no-hw -o ${WORK} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err TIMEOUT 600)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mpirun -np 2 ratq run --quick failed (exit ${rc}):\n${err}")
endif()
string(REGEX MATCHALL "ratq run: tiny" heads "${out}")
list(LENGTH heads nheads)
if(NOT nheads EQUAL 1)
  message(FATAL_ERROR "expected one summary (rank 0), got ${nheads}")
endif()
execute_process(COMMAND ${CHECK} ${WORK} ${VAL} 4 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "test_run_check failed (exit ${rc})")
endif()
foreach(f qat_k31.json rat_k4.json rat_k3_snap.json)
  file(READ ${WORK}/${f} j)
  if(NOT j MATCHES "\"ranks\":[ \t]*2")
    message(FATAL_ERROR "${f} does not record 2 ranks")
  endif()
endforeach()
message("ratq run on 2 MPI ranks: artifacts complete and consistent")
