# bench_float_conv: fast vs reference float conv2d / depthwise (fwd + bwd), GFLOP/s, validated first.
add_executable(bench_float_conv ${CMAKE_CURRENT_SOURCE_DIR}/bench_float_conv.c)
target_link_libraries(bench_float_conv PRIVATE ratq_kernels ratq_io)
set_target_properties(bench_float_conv PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/benchmarks)
