#!/usr/bin/env bash
# gpu_pack.sh — fill one ignored folder (default .gpu/, at most 48 MiB) with everything the GPU machine lacks, for
# scripts/gpu_check.sh there. That machine has nvcc, cmake, ninja, gcc and Python (PyTorch, timm, numpy) but no
# Debian -dev package, no registry and no ../shared; only the working tree and `carry`-ed ignored paths travel.
#
#   debs/       <name>.deb of the build dependencies, versions in debs/PACKAGES.tsv (apt-get download; never
#               installed: gpu_check.sh unpacks them with `dpkg -x` into a prefix): cJSON, zlib, libjpeg-turbo
#               (TurboJPEG), OpenBLAS (pthread variant, headers + library: 11.7 MB of .deb, the largest part after
#               the weights) and its runtime libraries libgfortran5 / libquadmath0. MPI is left out on purpose
#               (gpu_check.sh configures with MPI disabled).
#   weights/efficientnet-lite0.ratqw     $RATQ_LITE0_WEIGHTS, else build/weights/, else scripts/get_weights.py
#   data/imagenet_sample/val_part0.npz   the first 32 images of ../shared/data/imagenet_sample/val_part0.npz
#                                        (test_quant_cuda_lite0 calibrates on 32 and tests the first 8)
#   data/cifar10/test.npz                the first 256 images of cifar10/test.npz (test_quant_cuda_train reads 64)
#   data/imagenet_trainlike/train_jpeg.npz  the first 128 JPEGs of imagenet_trainlike (one batch of 128 for the
#                                        `ratq finetune --device cuda` step timing)
#   MANIFEST.tsv  path, bytes, sha256 of every file (gpu_check.sh verifies it before using anything)
# The subsets keep the source's member names (images/labels, jpeg_bytes/offsets/labels), so the readers and tests
# take them unchanged. Idempotent: files already right are kept (a .deb by name, the weights if identical, a subset
# if it holds the right count), anything else in the folder that this script does not make is removed.
#
# usage: scripts/gpu_pack.sh [OUT_DIR]     (RATQ_SHARED_DATA: the shared data folder, default ../shared/data)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pack="${1:-$root/.gpu}"
shared="${RATQ_SHARED_DATA:-$root/../shared/data}"
limit_mib=48
debs=(libcjson1 libcjson-dev zlib1g zlib1g-dev libturbojpeg0 libturbojpeg0-dev
      libopenblas0-pthread libopenblas-pthread-dev libgfortran5 libquadmath0)

die() { echo "gpu_pack: $*" >&2; exit 1; }
mkdir -p "$pack/debs" "$pack/weights" "$pack/data/imagenet_sample" "$pack/data/cifar10" "$pack/data/imagenet_trainlike"
pack="$(cd "$pack" && pwd)"

# ---- Debian packages: debs/<name>.deb, the candidate version of this machine's apt sources; the versions are
# listed in debs/PACKAGES.tsv (plain file names: nothing but letters, digits, '.', '_' and '-' travels safely) ----
missing=()
for p in "${debs[@]}"; do [ -s "$pack/debs/$p.deb" ] || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "gpu_pack: apt-get download ${missing[*]}"
  dl="$(mktemp -d "$pack/debs/dl.tmp.XXXXXX")"
  if ! (cd "$dl" && apt-get download -qq "${missing[@]}" 2>/dev/null); then
    [ "$(id -u)" -eq 0 ] && apt-get update -qq
    (cd "$dl" && apt-get download -qq "${missing[@]}") ||
      { rm -rf "$dl"; die "apt-get download failed (network to Debian?)"; }
  fi
  for p in "${missing[@]}"; do
    f=$(compgen -G "$dl/${p}_*.deb") || { rm -rf "$dl"; die "apt-get download gave no ${p}_*.deb"; }
    mv "$f" "$pack/debs/$p.deb"
  done
  rm -rf "$dl"
fi
for f in "$pack"/debs/*.deb; do # a package dropped from the list must not linger in the pack
  case " ${debs[*]} " in *" $(basename "$f" .deb) "*) ;; *) echo "gpu_pack: removing $f"; rm -f "$f" ;; esac
done
for p in "${debs[@]}"; do
  printf '%s\t%s\t%s\n' "$p" "$(dpkg-deb -f "$pack/debs/$p.deb" Version)" \
    "$(dpkg-deb -f "$pack/debs/$p.deb" Architecture)"
done > "$pack/debs/PACKAGES.tsv"

# ---- weights ----
w="$pack/weights/efficientnet-lite0.ratqw"
src="${RATQ_LITE0_WEIGHTS:-$root/build/weights/efficientnet-lite0.ratqw}"
if [ -s "$src" ]; then
  cmp -s "$src" "$w" || { cp "$src" "$w.tmp" && mv "$w.tmp" "$w"; }
elif [ ! -s "$w" ]; then
  py="$("$root/scripts/python_with_numpy.sh")"
  "$py" "$root/scripts/get_weights.py" --model efficientnet-lite0 -o "$w" || die "cannot make the Lite0 weights"
fi

# ---- data subsets (numpy; atomic writes) ----
py="$("$root/scripts/python_with_numpy.sh")"
"$py" - "$shared" "$pack/data" <<'EOF' || die "data subsets failed"
import os, sys
import numpy as np

shared, out = sys.argv[1], sys.argv[2]

def subset(src, dst, n, jpeg=False):
    dst = os.path.join(out, dst)
    if os.path.exists(dst):
        try:
            if len(np.load(dst)["labels"]) == n:
                return
        except Exception:
            pass
    src = os.path.join(shared, src)
    if not os.path.exists(src):
        sys.exit(f"gpu_pack: {src}: missing (set RATQ_SHARED_DATA to the shared data folder)")
    z = np.load(src)
    if jpeg:  # image i = jpeg_bytes[offsets[i]:offsets[i+1]]
        off = z["offsets"][: n + 1].astype(np.int64)
        members = {"jpeg_bytes": z["jpeg_bytes"][: off[-1]], "offsets": off, "labels": z["labels"][:n]}
    else:
        members = {"images": z["images"][:n], "labels": z["labels"][:n]}
    if len(members["labels"]) != n:
        sys.exit(f"gpu_pack: {src}: fewer than {n} images")
    tmp = dst + ".tmp.npz"
    (np.savez if jpeg else np.savez_compressed)(tmp, **members)
    os.replace(tmp, dst)
    print(f"gpu_pack: {dst}: {n} images from {src}")

subset("imagenet_sample/val_part0.npz", "imagenet_sample/val_part0.npz", 32)
subset("cifar10/test.npz", "cifar10/test.npz", 256)
subset("imagenet_trainlike/train_jpeg.npz", "imagenet_trainlike/train_jpeg.npz", 128, jpeg=True)
EOF

# ---- nothing else: stray files (older subsets, temporaries) are removed ----
(cd "$pack" && find . -type f | sed 's|^\./||' | while read -r f; do
  case "$f" in
    MANIFEST.tsv | debs/PACKAGES.tsv | debs/*.deb | weights/efficientnet-lite0.ratqw) ;;
    data/imagenet_sample/val_part0.npz | data/cifar10/test.npz | data/imagenet_trainlike/train_jpeg.npz) ;;
    *) echo "gpu_pack: removing stray $f"; rm -f "$f" ;;
  esac
done)

# ---- manifest and size limit ----
(cd "$pack" && find . -type f ! -name MANIFEST.tsv ! -name '*.tmp*' | sed 's|^\./||' | LC_ALL=C sort |
  while read -r f; do printf '%s\t%s\t%s\n' "$f" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"; done
) > "$pack/MANIFEST.tsv.tmp"
mv "$pack/MANIFEST.tsv.tmp" "$pack/MANIFEST.tsv"
total=$(awk -F'\t' '{s += $2} END {print s}' "$pack/MANIFEST.tsv")
awk -F'\t' '{printf "  %10d  %s\n", $2, $1}' "$pack/MANIFEST.tsv"
echo "gpu_pack: $pack: $(wc -l < "$pack/MANIFEST.tsv") files, $total bytes ($((total / 1048576)) MiB of $limit_mib)"
[ "$total" -le $((limit_mib * 1048576)) ] || die "the pack exceeds $limit_mib MiB"
