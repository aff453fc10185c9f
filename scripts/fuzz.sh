#!/usr/bin/env bash
# fuzz.sh — build the libFuzzer harnesses (tests/fuzz/fuzz_<loader>.c; CMake RATQ_FUZZ=ON: clang, ASan + UBSan) and
# run each one for a bounded time on its corpus (tests/fuzz/corpus/<loader>: seeds and regression inputs, read
# only; new inputs go to a scratch folder). Any crash, leak, timeout, out-of-memory or sanitizer report fails the
# run (exit 1) and the reproducer is kept under BUILD/fuzz-findings/. Prints runs, time and findings per loader
# (also written to BUILD/fuzz-summary.md; benchmarks/results/fuzz.md records a run).
# usage: scripts/fuzz.sh [build-dir] [seconds-per-harness] [loader...]     (default: build-fuzz 20, every loader)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build-fuzz}"
secs="${2:-20}"
shift $(( $# < 2 ? $# : 2 ))
loaders=("$@")
((${#loaders[@]})) || loaders=(ratqw ratqm shard npz idx jpeg cmsis racc ckpt)
CC=clang cmake -S "$root" -B "$build" -DRATQ_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target ratq_fuzz
scratch="$(mktemp -d "${TMPDIR:-/tmp}/ratq-fuzz.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
findings="$build/fuzz-findings"
mkdir -p "$findings"
summary="$build/fuzz-summary.md"
printf '| loader | seconds | runs | runs/s | corpus in -> out | findings |\n|---|---:|---:|---:|---|---|\n' >"$summary"
failed=0
for l in "${loaders[@]}"; do
  mkdir -p "$scratch/$l"
  log="$build/fuzz-$l.log"
  t0=$SECONDS
  rc=0
  # -close_fd_mask=2: the loaders' one-line errors for rejected inputs are not printed (libFuzzer and the
  # sanitizers keep reporting on their own copy of stderr); -timeout: one input may take at most 30 s.
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 TMPDIR="$scratch" \
    "$build/tests/fuzz_$l" -max_total_time="$secs" -timeout=30 -rss_limit_mb=4096 -close_fd_mask=2 \
    -print_final_stats=1 -artifact_prefix="$findings/$l-" "$scratch/$l" "$root/tests/fuzz/corpus/$l" >"$log" 2>&1 || rc=$?
  dt=$((SECONDS - t0))
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  n_in="$(find "$root/tests/fuzz/corpus/$l" -type f | wc -l)"
  n_out="$(find "$scratch/$l" -type f | wc -l)"
  if [ "$rc" -eq 0 ]; then
    what="none"
  else
    what="$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY' "$log" || echo "exit $rc")"
    failed=1
  fi
  printf '| %s | %d | %s | %s | %d -> %d | %s |\n' "$l" "$dt" "${runs:-?}" \
    "$( [ -n "${runs:-}" ] && [ "$dt" -gt 0 ] && echo $((runs / dt)) || echo '?')" "$n_in" "$((n_in + n_out))" "$what" >>"$summary"
  echo "fuzz $l: ${dt} s, ${runs:-?} runs, findings: $what"
done
cat "$summary"
if [ "$failed" -ne 0 ]; then
  echo "scripts/fuzz.sh: findings (reproducers in $findings, logs $build/fuzz-<loader>.log)" >&2
  exit 1
fi
