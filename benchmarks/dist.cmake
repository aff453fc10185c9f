# bench_dist_scaling: gradient bytes per step, measured all-reduce time on this launch's ranks, and the scaling
# estimate at 2 / 4 / 8 ranks for a given step time (run under mpirun for several ranks).
add_executable(bench_dist_scaling ${CMAKE_CURRENT_SOURCE_DIR}/bench_dist_scaling.c)
target_link_libraries(bench_dist_scaling PRIVATE ratq_host)
set_target_properties(bench_dist_scaling PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/benchmarks)
