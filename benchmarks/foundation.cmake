# bench_requant: requantization throughput (elements/s) per rounding mode and k on the CPU.
add_executable(bench_requant ${CMAKE_CURRENT_SOURCE_DIR}/bench_requant.c)
target_link_libraries(bench_requant PRIVATE ratq_kernels ratq_io)
set_target_properties(bench_requant PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/benchmarks)
