# bench_model: EfficientNet-Lite0 float forward and forward+backward images/s (batch 32, 2 threads), side by side
# with PyTorch CPU eager (scripts/bench_pytorch.py) when torch is importable. Needs the converted weights
# (python3 scripts/get_weights.py --model efficientnet-lite0 -o <build>/weights/efficientnet-lite0.ratqw).
add_executable(bench_model ${CMAKE_CURRENT_SOURCE_DIR}/bench_model.c)
target_link_libraries(bench_model PRIVATE ratq_host ratq_models ${CJSON_LIBRARY})
target_include_directories(bench_model PRIVATE ${CJSON_INCLUDE_DIR})
if(RATQ_HAVE_OPENBLAS)
  target_include_directories(bench_model PRIVATE ${OPENBLAS_INCLUDE_DIR})
endif()
target_compile_definitions(bench_model PRIVATE RATQ_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
  RATQ_BINARY_DIR="${CMAKE_BINARY_DIR}" RATQ_SHARED_DATA="${RATQ_SHARED_DIR}/data")
set_target_properties(bench_model PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/benchmarks)
