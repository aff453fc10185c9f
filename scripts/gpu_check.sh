#!/usr/bin/env bash
# gpu_check.sh — everything that needs a GPU, as ONE command on the lent GPU machine (one H200, 16 cores, nvcc,
# cmake, ninja, gcc, Python with PyTorch / timm / numpy; no Debian -dev package, no registry, no ../shared).
# It reads the folder made by scripts/gpu_pack.sh (default .gpu/, carried along as an ignored path) and:
#   env        prints the device, driver and tool versions
#   pack       checks the pack against its MANIFEST.tsv (sha256 of every file)
#   unpack     dpkg -x of every packed .deb into a prefix (never into /), absolute symlinks re-pointed into it
#   configure  CMake against that prefix only: CMAKE_IGNORE_PREFIX_PATH / CMAKE_IGNORE_PATH hide the system's own
#              /usr, /usr/local and / (the libc's libm is passed explicitly), MPI disabled, CUDA arch 90; then every
#              library CMake found must lie in the prefix or the CUDA toolkit (else the pack lacks it)
#   build      ratq, the GPU tests and the CUDA benchmarks, all cores (Ninja when present); then ldd: every
#              executable's libraries resolve, and only to the prefix, the CUDA libraries or the C / C++ runtime
#   data       `ratq data-info` on the packed data subsets and `ratq eval` of the packed Lite0 weights (CPU)
#   --- the rehearsal (--rehearse) stops here, before the first GPU command ---
#   ctest      ctest -L gpu -j4 with a per-test timeout: every GPU test must RUN and pass (a skip is a failure);
#   sanitizer  at the same time (correctness only, nothing timed runs then): compute-sanitizer --tool memcheck on the
#              small GPU tests, concurrently: any error fails
#   bench_cuda bench_cuda_epilogue (fused epilogue vs copy bandwidth), bench_cuda_train
#   rat_step   bench_rat_step_cuda: the GPU-resident RAT step, Lite0 batch 128 (TF32 / FP32 / bf16, graph / eager, in
#              the loop's order) and the host-driven path, validated against the CPU first
#   pytorch    scripts/bench_pytorch.py --train-step: Lite0 training step, batch 128, fp32 eager and fake-quant QAT
#   ratq_step  `ratq finetune --device cuda --batch 128` on Lite0 (the GPU-resident loop with its input stream): two
#              runs that stop after 4 and 8 steps (1 step per epoch); (t8 - t4) / 4 is one steady step (loading,
#              calibration, evaluation, the eager and captured warm-up steps 0-3 and the stop's checkpoint cancel)
#   scaling    bench_dist_scaling --step-ms (rat_step's best step) --bwd-frac: the 8-GPU NVLink / 2-node model
# Each stage prints its elapsed time; all stages share a deadline (RATQ_GPU_BUDGET_S, default 480 s): a stage that
# no longer fits is reported as not run. Writes into $OUT (else BUILD/out), at most 8 files: gpu_check.log (all
# output), summary.md (printed last: stages, tests, figures, and PASS / FAIL per target of issues 13 / 15: RAT step >= 2x
# PyTorch QAT, >= 1x PyTorch fp32 eager, fused epilogue >= 70 % of copy bandwidth), figures.json (every figure),
# bench_cuda_epilogue.md, bench_cuda_train.md, bench_rat_step_cuda.md, sanitizer.log, finetune.log. Exits 0 only if
# every stage passed: a failed or skipped GPU test, a sanitizer error, a benchmark that failed or did not run, or a
# missing dependency fails it. The targets do not change the exit status: they record where the code stands.
#
# usage: scripts/gpu_check.sh [--rehearse] [--pack DIR] [--build DIR]
#   --rehearse   every step that needs no GPU, in the device's conditions (for CI: tests/gpu_rehearsal.cmake)
#   env: RATQ_GPU_PACK (pack folder), RATQ_GPU_BUILD (build folder, default build-gpu or build-gpu-rehearse),
#        RATQ_SHARED_DATA (data folder, default PACK/data), RATQ_LITE0_WEIGHTS (default PACK/weights/...ratqw),
#        RATQ_GPU_BUDGET_S, CUDNN_ROOT / NCCL_ROOT (else the toolkit, else the nvidia wheels of python3)
# On the device, from the repository root:  scripts/gpu_check.sh     (with .gpu carried; run timeout 600 s)
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mode=device pack="" build=""
while (($#)); do
  case "$1" in
    --rehearse) mode=rehearse ;;
    --pack) pack="$2"; shift ;;
    --build) build="$2"; shift ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
pack="${pack:-${RATQ_GPU_PACK:-$root/.gpu}}"
[ "$mode" = rehearse ] && build="${build:-${RATQ_GPU_BUILD:-$root/build-gpu-rehearse}}"
build="${build:-${RATQ_GPU_BUILD:-$root/build-gpu}}"
budget="${RATQ_GPU_BUDGET_S:-480}"
[ "$mode" = rehearse ] && budget="${RATQ_GPU_BUDGET_S:-1800}" # the deadline is the device's; CI has 2 cores
mkdir -p "$build" || exit 2
build="$(cd "$build" && pwd)" # absolute: CMake and the prefix take it
[ -d "$pack" ] && pack="$(cd "$pack" && pwd)"
out="${OUT:-$build/out}"
work="$build/gpu-work"
prefix="$build/prefix"
mkdir -p "$out" "$work" || exit 2
rm -f "$work"/*.tsv "$work"/*.xml "$work"/*.json "$work"/*.jsonl "$out"/{gpu_check.log,summary.md,figures.json} \
  "$out"/{bench_cuda_epilogue.md,bench_cuda_train.md,bench_rat_step_cuda.md,sanitizer.log,finetune.log} 2>/dev/null
exec > >(tee -a "$out/gpu_check.log") 2>&1
tee_pid=$!

now() { date +%s.%N; }
T0=$(now)
left() { awk -v a="$(now)" -v t="$T0" -v b="$budget" 'BEGIN { printf "%d", b - (a - t) }'; }
# cap N: seconds a stage may take: N, or what is left of the budget minus a reserve for the summary
cap() { local l; l=$(($(left) - 15)); [ "$1" -lt "$l" ] && echo "$1" || echo "$((l > 1 ? l : 1))"; }
failed=0
stage_begin() { STAGE=$1; ST0=$(now); echo; echo "=== [$STAGE] $(date -u +%H:%M:%S) ($(left) s of the budget left)"; }
# stage_end STATUS NOTE: STATUS ok | FAIL | "not run"
stage_end() {
  local dt; dt=$(awk -v a="$(now)" -v b="$ST0" 'BEGIN { printf "%.1f", a - b }')
  printf '%s\t%s\t%s\t%s\n' "$STAGE" "$1" "$dt" "${2:-}" >> "$work/stages.tsv"
  echo "=== [$STAGE] $1 in ${dt} s${2:+: $2}"
  [ "$1" = ok ] || failed=1
}
# fits N: is there time for a stage that needs at least N seconds? else record it as not run
fits() { [ "$(left)" -ge $(($1 + 15)) ] && return 0; stage_end "not run" "out of time ($(left) s left)"; return 1; }
envline() { printf '%s\t%s\n' "$1" "$2" >> "$work/env.tsv"; echo "  $1: $2"; }

# ---- env --------------------------------------------------------------------------------------------------------
stage_begin env
envline mode "$mode"
dirty="$(git -C "$root" status --porcelain 2>/dev/null | grep -q . && echo ' (modified)')"
envline commit "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$dirty"
envline host "$(uname -srm), $(nproc) cores"
if [ "$mode" = device ]; then
  if command -v nvidia-smi >/dev/null; then
    envline gpu "$(nvidia-smi --query-gpu=name,memory.total,compute_cap --format=csv,noheader 2>&1 | head -1)"
    envline driver "$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>&1 | head -1)"
    nvidia-smi --query-gpu=clocks.sm,clocks.mem,temperature.gpu,power.draw,utilization.gpu --format=csv 2>&1 |
      sed 's/^/  /'
  else
    envline gpu "nvidia-smi missing"
  fi
fi
nvcc_bin="$(command -v nvcc || true)"
[ -z "$nvcc_bin" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc_bin=/usr/local/cuda/bin/nvcc
envline nvcc "${nvcc_bin:-missing} $("${nvcc_bin:-false}" --version 2>/dev/null |
  sed -n 's/.*release \([^,]*\),.*/\1/p')"
envline cmake "$(cmake --version 2>/dev/null | head -1)"
envline ninja "$(ninja --version 2>/dev/null || echo missing)"
envline gcc "$(gcc --version 2>/dev/null | head -1)"
envline python "$(python3 -c 'import sys, importlib
def v(m):
    try: return importlib.import_module(m).__version__
    except Exception: return "-"
print(sys.version.split()[0], "torch", v("torch"), "timm", v("timm"), "numpy", v("numpy"))' 2>/dev/null ||
  echo missing)"
cuda_root=""
[ -n "$nvcc_bin" ] && cuda_root="$(cd "$(dirname "$nvcc_bin")/.." && pwd)"
sanitizer="$(command -v compute-sanitizer || true)"
for c in "$cuda_root/bin/compute-sanitizer" "$cuda_root/compute-sanitizer/compute-sanitizer"; do
  [ -z "$sanitizer" ] && [ -x "$c" ] && sanitizer="$c"
done
envline compute-sanitizer "${sanitizer:-missing} $("${sanitizer:-false}" --version 2>/dev/null |
  grep -o 'Version [^ ]*' | head -1)"
if [ -z "$nvcc_bin" ]; then stage_end FAIL "nvcc not found"; else stage_end ok; fi

# ---- pack -------------------------------------------------------------------------------------------------------
stage_begin pack
data="${RATQ_SHARED_DATA:-$pack/data}"
weights="${RATQ_LITE0_WEIGHTS:-$pack/weights/efficientnet-lite0.ratqw}"
if [ ! -s "$pack/MANIFEST.tsv" ]; then
  stage_end FAIL "$pack/MANIFEST.tsv missing: run scripts/gpu_pack.sh here and carry .gpu"
else
  bad=$(cd "$pack" && awk -F'\t' '{print $3 "  " $1}' MANIFEST.tsv | sha256sum -c --quiet 2>&1 | head -5)
  n=$(wc -l < "$pack/MANIFEST.tsv")
  bytes=$(awk -F'\t' '{s += $2} END {print s}' "$pack/MANIFEST.tsv")
  envline pack "$pack: $n files, $bytes bytes"
  if [ -n "$bad" ]; then echo "$bad"; stage_end FAIL "pack does not match MANIFEST.tsv"; else stage_end ok; fi
fi

# ---- unpack -----------------------------------------------------------------------------------------------------
stage_begin unpack
rm -rf "$prefix" && mkdir -p "$prefix"
ok=1
deb_x() { # dpkg-deb -x, or the same by hand (a .deb is an ar archive holding data.tar.*)
  if command -v dpkg-deb >/dev/null; then dpkg-deb -x "$1" "$2"; return; fi
  local t rc
  t="$(mktemp -d)" && (cd "$t" && ar x "$1" && tar -xf data.tar.* -C "$2")
  rc=$?
  rm -rf "$t"
  return $rc
}
for d in "$pack"/debs/*.deb; do
  [ -e "$d" ] || { ok=0; echo "no .deb in $pack/debs"; break; }
  deb_x "$d" "$prefix" || { ok=0; echo "unpacking $d failed"; }
done
# absolute symlinks (zlib1g-dev's libz.so -> /lib/...) point into the prefix, not at the host's files
while IFS= read -r l; do
  t="$(readlink "$l")"
  case "$t" in /*) [ -e "$prefix$t" ] && ln -sfn "$prefix$t" "$l" ;; esac
done < <(find "$prefix" -type l)
arch="$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
blas_dir="$prefix/usr/lib/$arch/openblas-pthread"
libdirs="$prefix/usr/lib/$arch:$prefix/lib/$arch:$blas_dir"
host_ldp="${LD_LIBRARY_PATH:-}"
export LD_LIBRARY_PATH="$libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Python (PyTorch, the summary) runs with the host's own libraries, not the packed zlib / libgfortran
py() { LD_LIBRARY_PATH="$host_ldp" python3 "$@"; }
[ "$ok" = 1 ] && stage_end ok "$(find "$prefix" -type f | wc -l) files in $prefix" || stage_end FAIL "unpack failed"

# ---- configure --------------------------------------------------------------------------------------------------
stage_begin configure
# What the device lacks must not be found here either: hide the system prefixes and library folders from find_*
# (the CUDA toolkit stays visible); libm belongs to the C library (libc6-dev, present wherever gcc works).
ign_prefix="/;/usr;/usr/local"
ign_dirs="/usr/include;/usr/include/$arch;/usr/local/include;/usr/lib;/usr/lib64;/usr/lib/$arch;/usr/local/lib"
ign_dirs="$ign_dirs;/usr/local/lib64;/lib;/lib64;/lib/$arch"
for p in / /usr /usr/local; do
  if [ -n "$cuda_root" ] && [ "$cuda_root" = "$p" ]; then
    echo "  warning: the CUDA toolkit is installed in $p: that prefix stays visible"
    ign_prefix="$(echo "$ign_prefix" | tr ';' '\n' | grep -vx "$p" | paste -sd';')"
  fi
done
# the C library's and the compiler's own (libc6-dev and gcc are on the device): given explicitly
tc_lib() {
  local f n
  for n in "$@"; do f="$(gcc -print-file-name="$n")"; [ "$f" != "$n" ] && { readlink -f "$f"; return; }; done
}
libm="$(tc_lib libm.so libm.a)"
libpthread="$(tc_lib libpthread.so libpthread.a)"
librt="$(tc_lib librt.so librt.a)"
gcc_dir="$(dirname "$(gcc -print-libgcc-file-name)")"
tc_args=(-DMATH_LIB="${libm:-m}")
[ -n "$libpthread" ] && tc_args+=(-DOpenMP_pthread_LIBRARY="$libpthread")
[ -n "$librt" ] && tc_args+=(-DCUDAToolkit_rt_LIBRARY="$librt")
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
# NCCL (and cuDNN, linked but unused) from CUDNN_ROOT / NCCL_ROOT, the toolkit, or python3's nvidia wheels
# (those ship only versioned libraries, so the paths are passed explicitly).
hints=()
nv_site="$(py -c 'import nvidia, os; print(list(nvidia.__path__)[0])' 2>/dev/null || true)"
find_first() { # the first folder (in order) holding NAME
  local d f
  for d in "$@"; do
    [ -n "$d" ] && [ -d "$d" ] || continue
    f="$(find -L "$d" -maxdepth 4 -name "$NAME" 2>/dev/null | sort | head -1)"
    [ -n "$f" ] && { echo "$f"; return; }
  done
}
for lib in nccl cudnn; do
  [ "$lib" = nccl ] && r="${NCCL_ROOT:-}" || r="${CUDNN_ROOT:-}"
  NAME="$lib.h" inc="$(find_first "$r" "$cuda_root/include" "$cuda_root/targets" "$nv_site")"
  NAME="lib$lib.so*" so="$(find_first "$r" "$cuda_root/lib64" "$cuda_root/lib" "$cuda_root/targets" "$nv_site")"
  U="$(echo "$lib" | tr a-z A-Z)"
  if [ -n "$inc" ] && [ -n "$so" ]; then
    hints+=("-D${U}_INCLUDE_DIR=$(dirname "$inc")" "-D${U}_LIBRARY=$so")
    export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$(dirname "$so")"
  fi
done
shared_dir="$(dirname "$data")"
if [ "$(basename "$data")" != data ]; then # CMake wants the folder holding data/
  mkdir -p "$work/shared" && ln -sfn "$data" "$work/shared/data" && shared_dir="$work/shared"
fi
cmake_args=("${gen[@]}" -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRATQ_CUDA=ON
  -DCMAKE_CUDA_COMPILER="$nvcc_bin" -DCMAKE_CUDA_ARCHITECTURES=90
  -DCMAKE_PREFIX_PATH="$prefix/usr;$prefix" "-DCMAKE_IGNORE_PREFIX_PATH=$ign_prefix" "-DCMAKE_IGNORE_PATH=$ign_dirs"
  "${tc_args[@]}" -DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON
  -DOPENBLAS_INCLUDE_DIR="$prefix/usr/include/$arch/openblas-pthread" -DOPENBLAS_LIBRARY="$blas_dir/libopenblas.so"
  -DRATQ_SHARED_DIR="$shared_dir" -DRATQ_LITE0_WEIGHTS="$weights" "${hints[@]}")
rm -f "$build/CMakeCache.txt"
echo "  cmake ${cmake_args[*]}"
configured=0
if ! timeout "$(cap 180)" cmake "${cmake_args[@]}" > "$work/configure.log" 2>&1; then
  cat "$work/configure.log"
  stage_end FAIL "cmake configure failed (log above)"
else
  configured=1
  grep 'ratq:' "$work/configure.log" | sed 's/^-- /  /'
  grep -A3 'CMake Warning' "$work/configure.log" | sed 's/^/  /'
  # every library and header folder CMake found: inside the prefix or the CUDA toolkit (or the NCCL / cuDNN hints)
  allowed=("$prefix" "$cuda_root" "$(readlink -f "$cuda_root")" "$gcc_dir" "$(readlink -f "$gcc_dir")"
           "$libm" "$libpthread" "$librt")
  for h in "${hints[@]}"; do allowed+=("$(dirname "${h#*=}")" "${h#*=}"); done
  outside=""
  while IFS='=' read -r key val; do
    [ -z "$val" ] && continue
    case "$val" in *NOTFOUND* | */CMakeFiles/*) continue ;; esac
    hit=0
    for v in $(echo "$val" | tr ';' ' '); do # each path, as named or resolved, under an allowed one
      hit=0
      for a in "${allowed[@]}"; do
        [ -n "$a" ] || continue
        for c in "$v" "$(readlink -f "$v")"; do
          case "$c/" in "$a"/* | "$(readlink -f "$a")"/*) hit=1 ;; esac
        done
      done
      [ "$hit" = 1 ] || break
    done
    [ "$hit" = 1 ] || outside="$outside ${key%%:*}=$val"
  done < <(grep -E '^[A-Za-z0-9_]+_(INCLUDE_DIR|INCLUDE_DIRS|LIBRARY|LIBRARY_RELEASE|LIB):(PATH|FILEPATH|STRING)=' \
             "$build/CMakeCache.txt")
  if [ -n "$outside" ]; then
    echo "  found outside the pack and the CUDA toolkit:$outside"
    stage_end FAIL "a dependency was found outside the pack (add its .deb to scripts/gpu_pack.sh)"
  else
    stage_end ok
  fi
fi

# ---- build ------------------------------------------------------------------------------------------------------
stage_begin build
if [ "$configured" = 0 ]; then
  stage_end "not run" "not configured"
elif ! targets=(ratq bench_cuda_epilogue bench_cuda_train bench_rat_step_cuda bench_dist_scaling
                $(ctest --test-dir "$build" -N -L gpu 2>/dev/null | sed -n 's/^ *Test *#[0-9]*: *//p')) ||
     ! timeout "$(cap 420)" cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" > "$work/build.log" 2>&1; then
  grep -n -m 30 -B3 -A12 -E 'error|Error|undefined reference' "$work/build.log" | head -150
  tail -20 "$work/build.log"
  stage_end FAIL "build failed (errors above; timeout: exit 124)"
else
  grep -i -m 20 'warning' "$work/build.log" | sed 's/^/  /'
  # every executable the GPU checks run: libraries resolve, and only to the prefix / CUDA / the C and C++ runtime
  exes=("$build/ratq")
  for b in bench_cuda_epilogue bench_cuda_train bench_rat_step_cuda bench_dist_scaling; do
    exes+=("$build/benchmarks/$b")
  done
  while read -r t; do exes+=("$(find "$build" -type f -name "$t" -perm -u+x | head -1)"); done < \
    <(ctest --test-dir "$build" -N -L gpu 2>/dev/null | sed -n 's/^ *Test *#[0-9]*: *//p')
  bad=""
  base='^(linux-vdso|ld-linux|libc\.so|libm\.so|libmvec|libpthread|libdl\.|librt\.|libgcc_s|libstdc\+\+|libgomp'
  base="$base|libcuda|libcudart|libcublas|libcublasLt|libnccl|libcudnn)"
  for e in "${exes[@]}"; do
    [ -x "$e" ] || { bad="$bad missing:$e"; continue; }
    while read -r so arrow path _; do
      [ "$arrow" = "=>" ] || continue
      if [ "$path" = not ]; then bad="$bad $(basename "$e"):$so:not-found"; continue; fi
      case "$(readlink -f "$path")" in "$prefix"/* | "$(readlink -f "$cuda_root")"/*) continue ;; esac
      echo "$so" | grep -Eq "$base" && continue
      bad="$bad $(basename "$e"):$so=>$path"
    done < <(ldd "$e" 2>&1)
  done
  n=$(ctest --test-dir "$build" -N -L gpu 2>/dev/null | sed -n 's/^Total Tests: *//p')
  echo "  $n GPU tests registered:" $(ctest --test-dir "$build" -N -L gpu | sed -n 's/^ *Test *#[0-9]*: *//p')
  if [ -n "$bad" ]; then
    echo "  libraries missing or outside the pack:$bad"
    stage_end FAIL "runtime libraries missing or outside the pack"
  elif [ "${n:-0}" -lt 6 ]; then
    stage_end FAIL "only ${n:-0} GPU tests registered (CUDA not found?)"
  else
    stage_end ok "$(grep -ci 'warning' "$work/build.log") warning lines"
  fi
fi
ratq="$build/ratq"

# ---- data -------------------------------------------------------------------------------------------------------
stage_begin data
if [ ! -x "$ratq" ]; then
  stage_end "not run" "no ratq binary"
else
  ok=1
  for ds in imagenet_sample cifar10/test.npz imagenet_trainlike/train_jpeg.npz; do
    echo "  ratq data-info $data/$ds --verify"
    timeout "$(cap 60)" "$ratq" data-info "$data/$ds" --verify 2>&1 | sed 's/^/    /'
    [ "${PIPESTATUS[0]}" = 0 ] || ok=0
  done
  echo "  ratq eval --model $weights --data $data/imagenet_sample --limit 8 --json"
  timeout "$(cap 120)" "$ratq" eval --model "$weights" --data "$data/imagenet_sample" --limit 8 --json 2>&1 | tail -1 |
    tee "$work/eval.json" | sed 's/^/    /'
  [ "${PIPESTATUS[0]}" = 0 ] || ok=0
  py "$root/scripts/bench_pytorch.py" --train-step --dry-run > /dev/null || ok=0
  [ "$ok" = 1 ] && stage_end ok || stage_end FAIL "a packed data set or the weights did not load"
fi

# ---- GPU stages -------------------------------------------------------------------------------------------------
if [ "$mode" = device ]; then
  export RATQ_SHARED_DATA="$data" RATQ_WEIGHTS="$weights"

  # ---- sanitizer, started first, in the background: correctness only, so it shares the GPU with ctest ----
  san_ok=0
  san_t0=$(now)
  san_pids=()
  # name, executable, argument: the small GPU tests, concurrently (the device has room for all of them)
  san_runs=("test_requant_cuda test_requant_cuda -" "test_cuda_int_ops test_cuda_int_ops -"
            "test_quant_cuda_tiny test_quant_cuda_tiny tiny" "test_cuda_train_ops test_cuda_train_ops -")
  if [ -n "$sanitizer" ] && [ -x "$ratq" ] && [ "$(left)" -ge 75 ]; then
    san_ok=1
    t=$(cap 240)
    for r in "${san_runs[@]}"; do
      read -r name exe arg <<< "$r"
      e="$(find "$build" -type f -name "$exe" -perm -u+x | head -1)"
      [ "$arg" = - ] && arg=""
      ( timeout "$t" "$sanitizer" --tool memcheck --error-exitcode 99 --print-limit 20 "$e" $arg \
          > "$work/san_$name.log" 2>&1; echo $? > "$work/san_$name.rc" ) &
      san_pids+=($!)
    done
  fi

  stage_begin ctest
  if [ ! -x "$ratq" ]; then
    stage_end "not run" "nothing built"
  elif fits 60; then
    timeout "$(cap 300)" ctest --test-dir "$build" -L gpu -j4 --timeout "$(cap 240)" --output-on-failure \
      --output-junit "$work/ctest_gpu.xml"
    rc=$?
    counts=$(py - "$work/ctest_gpu.xml" <<'EOF' 2>/dev/null
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
st = {"run": 0, "fail": 0, "notrun": 0}
for t in r.iter("testcase"):
    st[t.get("status", "fail")] = st.get(t.get("status", "fail"), 0) + 1
print(st["run"], st["fail"], sum(v for k, v in st.items() if k not in ("run", "fail")))
EOF
)
    read -r n_pass n_fail n_skip <<< "${counts:-0 0 0}"
    note="$n_pass passed, $n_fail failed, $n_skip skipped or not run (ctest exit $rc)"
    if [ "$rc" = 0 ] && [ "$n_fail" = 0 ] && [ "$n_skip" = 0 ] && [ "$n_pass" -gt 0 ]; then
      stage_end ok "$note"
    else
      stage_end FAIL "$note"
    fi
  fi

  STAGE=sanitizer ST0=$san_t0
  echo; echo "=== [sanitizer] (started with ctest; waiting for it)"
  if [ -z "$sanitizer" ]; then
    stage_end FAIL "compute-sanitizer not found"
  elif [ "$san_ok" = 0 ]; then
    stage_end "not run" "nothing built or out of time"
  else
    wait "${san_pids[@]}" # only these: a bare wait would also wait for the log's tee
    : > "$out/sanitizer.log"
    for r in "${san_runs[@]}"; do
      read -r name _ <<< "$r"
      rc=$(cat "$work/san_$name.rc" 2>/dev/null || echo 1)
      summary=$(grep -m1 'ERROR SUMMARY' "$work/san_$name.log" | sed 's/^=* *//')
      case "$rc" in
        0) v=ok ;; 99) v="memcheck errors" ;; 124) v="timeout" ;; 77) v="skipped (no device?)" ;; *) v="exit $rc" ;;
      esac
      [ "$rc" = 0 ] || san_ok=0
      printf '%s\t%s\t%s\n' "$name" "$v" "${summary:-no summary}" >> "$work/sanitizer.tsv"
      echo "  $name: $v (${summary:-no ERROR SUMMARY line})"
      { echo "==== $name: $v"; cat "$work/san_$name.log"; } >> "$out/sanitizer.log"
      [ "$rc" = 0 ] || tail -25 "$work/san_$name.log"
    done
    [ "$san_ok" = 1 ] && stage_end ok || stage_end FAIL "compute-sanitizer reported errors or a run did not finish"
  fi

  # bench NAME TIMEOUT ARGS...: build/benchmarks/NAME into $OUT/NAME.md, its json line collected; 0 = ok
  bench() {
    local b=$1 t=$2 rc
    shift 2
    timeout "$(cap "$t")" "$build/benchmarks/$b" "$@" > "$out/$b.md" 2> "$work/$b.err"
    rc=$?
    cat "$out/$b.md" "$work/$b.err"
    grep '^json: ' "$out/$b.md" | sed 's/^json: //' >> "$work/bench.jsonl"
    grep -q '^json: ' "$out/$b.md" || { echo "  $b: exit $rc, no figures"; return 1; }
    return "$rc"
  }

  stage_begin bench_cuda
  if fits 30; then
    ok=1
    bench bench_cuda_epilogue 150 || ok=0
    bench bench_cuda_train 150 || ok=0
    [ "$ok" = 1 ] && stage_end ok || stage_end FAIL "a CUDA benchmark failed or did not run"
  fi

  stage_begin rat_step
  if fits 40; then
    if bench bench_rat_step_cuda 150 --batch 128 --steps 10; then stage_end ok
    else stage_end FAIL "bench_rat_step_cuda failed (validation, a step, or no figures)"; fi
  fi

  stage_begin pytorch
  if fits 40; then
    PYTHONUNBUFFERED=1 LD_LIBRARY_PATH="$host_ldp" timeout "$(cap 180)" python3 "$root/scripts/bench_pytorch.py" \
      --train-step --device cuda --batch 128 > "$work/pytorch.out" 2> "$work/pytorch.err"
    rc=$?
    tail -5 "$work/pytorch.err"
    grep '^{' "$work/pytorch.out" | tail -1 > "$work/pytorch.json"
    cat "$work/pytorch.json"
    [ "$rc" = 0 ] && [ -s "$work/pytorch.json" ] && stage_end ok || stage_end FAIL "bench_pytorch.py exit $rc"
  fi

  stage_begin ratq_step
  if fits 60; then
    ok=1
    : > "$out/finetune.log"
    workers=$(($(nproc) > 4 ? $(nproc) - 2 : 2))
    for steps in 4 8; do
      t1=$(now)
      timeout "$(cap 200)" "$ratq" finetune --model "$weights" --data "$data/imagenet_trainlike/train_jpeg.npz" \
        --val "$data/imagenet_sample" --val-limit 8 --calib-images 32 --rescale-bits 4 --epochs 16 --batch 128 \
        --label-smoothing 0.1 --weight-decay 4e-5 --workers "$workers" --stop-after "$steps" --device cuda --seed 1 \
        --json -o "$work/ft$steps.ratqm" --log "$work/ft$steps.log.jsonl" --checkpoint "$work/ft$steps.ckpt" \
        >> "$out/finetune.log" 2>&1
      rc=$?
      dt=$(awk -v a="$(now)" -v b="$t1" 'BEGIN { printf "%.3f", a - b }')
      echo "  finetune --device cuda --stop-after $steps: exit $rc, $dt s"
      printf '%s\t%s\t%s\n' "$steps" "$rc" "$dt" >> "$work/ratq_step.tsv"
      [ "$rc" = 0 ] || { ok=0; tail -15 "$out/finetune.log"; break; }
    done
    # the two runs' common steps 0-3 must agree bit for bit (the log's losses): rerun determinism on the device
    if [ "$ok" = 1 ] && ! cmp -s <(head -4 "$work/ft4.log.jsonl") <(head -4 "$work/ft8.log.jsonl"); then
      ok=0
      echo "  steps 0-3 of the two runs differ:"; head -4 "$work/ft4.log.jsonl" "$work/ft8.log.jsonl"
    fi
    cat "$work"/ft*.log.jsonl >> "$out/finetune.log" 2>/dev/null
    [ "$ok" = 1 ] && stage_end ok || stage_end FAIL "ratq finetune --device cuda failed or was not deterministic"
  fi

  stage_begin scaling
  # the measured single-GPU step and backward fraction of rat_step
  read -r step_ms bwd_frac <<< "$(py -c 'import json, sys
for l in open(sys.argv[1]):
    j = json.loads(l)
    if j.get("bench") == "rat_step_cuda" and j.get("best_step_ms"):
        print(j["best_step_ms"], j["bwd_frac"])' "$work/bench.jsonl" 2>/dev/null)"
  if [ -z "${step_ms:-}" ]; then
    stage_end "not run" "no step time from rat_step"
  elif fits 10; then
    bf=$(awk -v f="$bwd_frac" 'BEGIN { print (f > 0 && f < 1) ? f : 0.667 }')
    timeout "$(cap 60)" "$build/benchmarks/bench_dist_scaling" --model "$weights" --step-ms "$step_ms" \
      --bwd-frac "$bf" --batch 128 --buckets 5 > "$work/scaling.md" 2>&1
    rc=$?
    cat "$work/scaling.md"
    grep '^json: ' "$work/scaling.md" | sed 's/^json: //' >> "$work/bench.jsonl"
    if [ "$rc" = 0 ] && grep -q '^json: ' "$work/scaling.md"; then stage_end ok
    else stage_end FAIL "bench_dist_scaling exit $rc"; fi
  fi
else
  echo
  echo "=== rehearsal: stopping before the first GPU command (ctest -L gpu)"
fi

# ---- summary: figures.json and summary.md (scripts/gpu_summary.py: the derived figures and the targets) -------------
py "$root/scripts/gpu_summary.py" "$work" "$out" "$mode" "$failed" || { cat "$work/stages.tsv"; failed=1; }
total_s=$(awk -v a="$(now)" -v b="$T0" 'BEGIN { printf "%.0f", a - b }')
echo "gpu_check: $([ "$failed" = 0 ] && echo PASSED || echo FAILED) in $total_s s; files in $out"
exec >&- 2>&-
wait "$tee_pid" 2>/dev/null # the log is complete before the exit status is
exit "$failed"
