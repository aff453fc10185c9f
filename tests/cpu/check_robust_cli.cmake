# check_robust_cli.cmake — inputs that once gave silent wrong answers or runaway memory (issue 12), through the
# CLI: each must exit 2 with one line naming the file and field (tests/cpu/expect_error.cmake). The models are the
# fuzz regression inputs (tests/fuzz/corpus, made by tests/fuzz/make_corpus.c); the data is Fashion-MNIST (Debian).
# -DRATQ=<ratq> -DCORPUS=<tests/fuzz/corpus> -DDATA=<fashion-mnist dir> -DWORK=<scratch folder>
include(${CMAKE_CURRENT_LIST_DIR}/expect_error.cmake)
set(w ${CORPUS}/ratqw)
set(eval ${RATQ} eval --data ${DATA}/t10k --limit 8 --model)
# 2.3: a BN variance < 0 (finite, invalid) made NaN logits that counted as top-1 = 100 %
ratq_expect_error(running_var_negative
  "regress_running_var_negative.ratqw: tensor _bn0.running_var: element 0 is -1, a variance must be >= 0"
  ${eval} ${w}/regress_running_var_negative.ratqw)
# 2.3: conv weights of 3e38 overflow to -Inf (ReLU6 would hide it downstream): evaluation must fail, not report
ratq_expect_error(weight_3e38 "regress_weight_3e38.ratqw: layer 0 (conv _conv_stem): "
  ${eval} ${w}/regress_weight_3e38.ratqw)
# 2.4: a 4-byte edit of the resolution (16 -> 8192) would need 21 GiB of activations per image
ratq_expect_error(resolution_8192 "regress_resolution_8192.ratqw: resolution: 8192 makes the tiny model keep"
  ${eval} ${w}/regress_resolution_8192.ratqw)
# 2.4: a 538-byte integer model declaring an 8192 x 8192 x 3 input
ratq_expect_error(qmodel_input_8192 "regress_input_8192.ratqm: field 'in_h': the input 8192 x 8192 x 3"
  ${eval} ${CORPUS}/ratqm/regress_input_8192.ratqm)
# 2.5: errors name the input, in one line
ratq_expect_error(transform_none_size "t10k: transform: out_size: 32, but the dataset stores 28x28 images"
  ${RATQ} data-info ${DATA}/t10k --transform none --size 32 --verify)
ratq_expect_error(export_c_option "export-c: unknown option '--bogus'"
  ${RATQ} export-c --model ${CORPUS}/ratqm/mini.ratqm -o ${WORK}/export --bogus)
ratq_expect_error(export_c_missing "export-c: --model and -o are required" ${RATQ} export-c --model x)
