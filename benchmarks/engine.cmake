# bench_engine: forward-only images/s of the fast and reference CPU integer engines on a .ratqm (benchmarks/
# engine_cpu.sh runs it side by side with `ratq eval`, PyTorch fp32 eager and LiteRT XNNPACK int8).
add_executable(bench_engine ${CMAKE_CURRENT_SOURCE_DIR}/bench_engine.c)
target_link_libraries(bench_engine PRIVATE ratq_host)
set_target_properties(bench_engine PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/benchmarks)
