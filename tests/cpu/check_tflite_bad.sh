#!/usr/bin/env bash
# check_tflite_bad.sh — bad input to `ratq export-tflite` / `ratq import-tflite`: the case must exit 2, print
# exactly one stderr line containing the expected text, and leave nothing at the output path.
# usage: check_tflite_bad.sh CASE RATQ WORK FIXTURE_DIR      (FIXTURE_DIR: check_tflite_tiny.sh's work folder)
set -euo pipefail
case=$1 ratq=$2 work=$3/$1 fx=$4
py="${RATQ_PYTHON:-python3}"
here="$(cd "$(dirname "$0")" && pwd)"
rm -rf "$work" && mkdir -p "$work" && cd "$work"
good_t="$fx/t31.tflite" good_r="$fx/t31.ratqm"
[ -f "$good_t" ] && [ -f "$good_r" ] || { echo "FAIL: fixture $good_t missing (test_tflite_tiny)"; exit 1; }
out=out.file
make() { "$py" "$here/make_bad_input.py" "$1" "$good_t" "$good_r" "$2"; }
case $case in
  export_missing)     args=(export-tflite --model nope.ratqm -o $out); expect="nope.ratqm" ;;
  export_magic)       echo "not a model" > in.ratqm; args=(export-tflite --model in.ratqm -o $out); expect="magic" ;;
  export_truncated)   head -c 2000 "$good_r" > in.ratqm; args=(export-tflite --model in.ratqm -o $out); expect="truncated" ;;
  export_padding)     make ratqm_padding in.ratqm; args=(export-tflite --model in.ratqm -o $out)
                      expect="neither TFLite SAME nor VALID" ;;
  export_unwritable)  args=(export-tflite --model "$good_r" -o nodir/$out); out=nodir/$out; expect="write" ;;
  export_option)      args=(export-tflite --model "$good_r" --frobnicate -o $out); expect="unknown" ;;
  import_missing)     args=(import-tflite --model nope.tflite -o $out); expect="nope.tflite" ;;
  import_empty)       : > in.tflite; args=(import-tflite --model in.tflite -o $out); expect="truncated" ;;
  import_magic)       echo "garbage garbage" > in.tflite; args=(import-tflite --model in.tflite -o $out); expect="TFL3" ;;
  import_truncated)   head -c 3000 "$good_t" > in.tflite; args=(import-tflite --model in.tflite -o $out); expect="in.tflite" ;;
  import_unsupported_op) make unsupported_op in.tflite; args=(import-tflite --model in.tflite -o $out)
                      expect="operator 3 (SOFTMAX): unsupported operator" ;;
  import_float_tensor) make float_tensor in.tflite; args=(import-tflite --model in.tflite -o $out)
                      expect="operator 2 (CONV_2D) output: type 0, only int8" ;;
  import_per_channel_activation) make per_channel_activation in.tflite; args=(import-tflite --model in.tflite -o $out)
                      expect="operator 2 (CONV_2D) output: per-channel activation" ;;
  import_asymmetric_weights) make asymmetric_weights in.tflite; args=(import-tflite --model in.tflite -o $out)
                      expect="operator 0 (CONV_2D) weights: asymmetric" ;;
  import_quantized_dimension) make quantized_dimension in.tflite; args=(import-tflite --model in.tflite -o $out)
                      expect="operator 0 (CONV_2D) weights: per-channel quantized_dimension 3" ;;
  import_weight_minus_128) make weight_minus_128 in.tflite; args=(import-tflite --model in.tflite -o $out)
                      expect="operator 0 (CONV_2D) weights: a weight is -128" ;;
  import_two_subgraphs) make two_subgraphs in.tflite; args=(import-tflite --model in.tflite -o $out); expect="subgraphs" ;;
  import_mean_axis)   make mean_axis in.tflite; args=(import-tflite --model in.tflite -o $out)
                      expect="(MEAN): only MEAN over axes (1, 2)" ;;
  import_option)      args=(import-tflite -o $out); expect="required" ;;
  *) echo "FAIL: unknown case $case"; exit 1 ;;
esac
set +e
"$ratq" "${args[@]}" > stdout.txt 2> stderr.txt
rc=$?
set -e
lines=$(grep -c '' stderr.txt || true)
if [ $rc -ne 2 ] || [ "$lines" -ne 1 ] || ! grep -qF -- "$expect" stderr.txt; then
  echo "FAIL: $case: want exit 2 and one stderr line containing '$expect'; got exit $rc, stderr:"; cat stderr.txt; exit 1
fi
if [ -e "$out" ] || ls "$(dirname "$out")" 2>/dev/null | grep -q "\.tmp\.\|\.import\."; then
  echo "FAIL: $case: output or temp file left behind"; ls -la "$(dirname "$out")"; exit 1
fi
echo "ok: $case: exit 2: $(cat stderr.txt)"
