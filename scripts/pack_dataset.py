#!/usr/bin/env python3
"""pack_dataset.py — write ratq image shards (format: host/data/data.h, "Shard file format, version 1").

usage: pack_dataset.py INPUT... -o OUT [--shard-size N] [--num-classes K] [--classes SYNSETS]
                       [--raw] [--eval-size S] [--limit N]

INPUT is any mix of
  * .npz files in the shared-data forms: `images` uint8 [N,H,W,C] (or [N,H,W]) + `labels`, or
    `jpeg_bytes` uint8 + `offsets` int64 [N+1] + `labels` (e.g. ../shared/data/cifar10/train_jpeg.npz);
  * an ImageNet-style folder tree <root>/<class>/*.jpg|*.jpeg|*.JPEG: classes in sorted folder-name order
    (sorted WNIDs = the standard ImageNet indices), files sorted by name; --classes SYNSETS takes the label of
    each folder from a synsets.txt instead (line i starts with the folder name of class i).
Encodings (decided here, read by the C loader):
  * JPEG inputs (npz jpeg_bytes, folder trees) are stored as their original JPEG bytes (encoding 1, variable
    image size, an offset table): lossless and compact; the C loader decodes them with libjpeg-turbo.
    Nothing is decoded at pack time, so Pillow is not needed.
  * Decoded inputs (npz `images`) are stored as raw uint8 NHWC (encoding 0).
  * --raw decodes JPEG inputs with Pillow (convert('RGB')) and stores raw pixels; all images must then have one
    size, or pass --eval-size S to apply the eval transform at pack time (shorter side to round(S*256/224),
    bilinear; center crop S: the same rule as the C eval transform, the way imagenet_sample was made).
  * Inputs of different encodings in one run need --raw.
OUT is one shard file, or with --shard-size N a folder OUT/ holding part-00000.rqshard, part-00001.rqshard, ...
(N images each, the last one shorter), which ratq opens as one dataset in file-name order.
num_classes in the header: --num-classes K, else the number of class folders (or classes-file lines), else
max label + 1 (for ImageNet subsets such as imagenet_sample pass --num-classes 1000).
Every file is written to OUT.tmp.<pid> and renamed into place. Errors are one line naming the file and field;
exit code 2.
Needs numpy (pip install numpy); Pillow only for --raw with JPEG inputs.
"""
import argparse
import io
import os
import struct
import sys

import numpy as np

MAGIC = b"RATQIMG1"
VERSION = 1
HEADER = 128
ENC_RAW, ENC_JPEG = 0, 1
JPEG_EXT = (".jpg", ".jpeg")


class PackError(Exception):
    pass


def fail(path, field, what):
    raise PackError(f"{path}: {field}: {what}")


class Source:
    """count images; encoding ENC_RAW (shape (h, w, c)) or ENC_JPEG; labels int64 [count]; get(i) -> bytes."""

    def __init__(self, path, encoding, labels, shape=None, sizes=None, get=None):
        self.path, self.encoding, self.labels, self.shape, self.sizes, self.get = path, encoding, labels, shape, sizes, get

    @property
    def count(self):
        return len(self.labels)


def load_npz(path):
    try:
        z = np.load(path, allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - any read problem is a bad input
        fail(path, "file", f"cannot read as .npz ({e})")
    if "labels" not in z.files:
        fail(path, "labels", "member missing")
    labels = z["labels"]
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        fail(path, "labels", f"dtype {labels.dtype} shape {labels.shape}, expected integer [N]")
    labels = labels.astype(np.int64)
    if "images" in z.files:
        im = z["images"]
        if im.dtype != np.uint8 or im.ndim not in (3, 4) or (im.ndim == 4 and im.shape[3] not in (1, 3)):
            fail(path, "images", f"dtype {im.dtype} shape {im.shape}, expected uint8 [N,H,W] or [N,H,W,1|3]")
        if im.ndim == 3:
            im = im[..., None]
        if im.shape[0] != len(labels):
            fail(path, "labels", f"{len(labels)} labels for {im.shape[0]} images")
        return Source(path, ENC_RAW, labels, shape=im.shape[1:], get=lambda i: im[i].tobytes())
    if "jpeg_bytes" in z.files and "offsets" in z.files:
        jb, off = z["jpeg_bytes"], z["offsets"]
        if jb.dtype != np.uint8 or jb.ndim != 1:
            fail(path, "jpeg_bytes", f"dtype {jb.dtype} shape {jb.shape}, expected uint8 [bytes]")
        if off.dtype != np.int64 or off.ndim != 1 or len(off) != len(labels) + 1:
            fail(path, "offsets", f"dtype {off.dtype} shape {off.shape}, expected int64 [{len(labels) + 1}]")
        if off[0] != 0 or np.any(np.diff(off) < 0) or off[-1] != len(jb):
            fail(path, "offsets", "must start at 0, not decrease, and end at len(jpeg_bytes)")
        sizes = np.diff(off)
        return Source(path, ENC_JPEG, labels, sizes=sizes, get=lambda i: jb[off[i]:off[i + 1]].tobytes())
    fail(path, "images", "neither images nor jpeg_bytes + offsets in the archive")


def load_tree(root, classes_file):
    folders = sorted(d for d in os.listdir(root) if not d.startswith(".") and os.path.isdir(os.path.join(root, d)))
    if not folders:
        fail(root, "folder", "no class folders <root>/<class>/")
    if classes_file:
        with open(classes_file) as f:
            names = [ln.split()[0] for ln in f if ln.strip()]
        index = {n: i for i, n in enumerate(names)}
        for d in folders:
            if d not in index:
                fail(root, "classes", f"folder {d} is not listed in {classes_file}")
        label_of = index
    else:
        label_of = {d: i for i, d in enumerate(folders)}
    files, labels = [], []
    for d in folders:
        for fn in sorted(os.listdir(os.path.join(root, d))):
            p = os.path.join(root, d, fn)
            if not fn.startswith(".") and fn.lower().endswith(JPEG_EXT) and os.path.isfile(p):
                files.append(p)
                labels.append(label_of[d])
    if not files:
        fail(root, "folder", "no JPEG files in <root>/<class>/*.jpg|*.jpeg")
    sizes = np.array([os.path.getsize(p) for p in files], dtype=np.int64)

    def get(i):
        with open(files[i], "rb") as f:
            b = f.read()
        if len(b) != sizes[i] or b[:2] != b"\xff\xd8":
            fail(files[i], "jpeg", "changed while packing or not a JPEG (no SOI marker)")
        return b

    src = Source(root, ENC_JPEG, np.array(labels, dtype=np.int64), sizes=sizes, get=get)
    src.num_classes = len(label_of) if classes_file else len(folders)
    return src


def decode_raw(src, eval_size):
    """Turn a JPEG source into a raw one with Pillow (optionally the eval transform)."""
    from PIL import Image  # only needed here

    def to_array(i):
        img = Image.open(io.BytesIO(src.get(i))).convert("RGB")
        if eval_size:
            w, h = img.size
            r = (eval_size * 256 + 112) // 224  # round(S * 256 / 224), as the C transform
            nw, nh = (r, r * h // w) if w <= h else (r * w // h, r)
            if (nw, nh) != (w, h):
                img = img.resize((nw, nh), Image.BILINEAR)
            top, left = int(round((nh - eval_size) / 2.0)), int(round((nw - eval_size) / 2.0))
            img = img.crop((left, top, left + eval_size, top + eval_size))
        return np.asarray(img, dtype=np.uint8)

    first = to_array(0)
    shape = first.shape

    def get(i):
        a = first if i == 0 else to_array(i)
        if a.shape != shape:
            fail(src.path, "images", f"image {i} is {a.shape}, image 0 is {shape}: use --eval-size S")
        return a.tobytes()

    out = Source(src.path, ENC_RAW, src.labels, shape=shape, get=get)
    if hasattr(src, "num_classes"):
        out.num_classes = src.num_classes
    return out


def write_shard(path, items, encoding, shape, num_classes):
    """items: list of (source, index). Streams the data; writes path via temp + rename."""
    n = len(items)
    labels = np.array([s.labels[i] for s, i in items], dtype=np.int64)
    lab_off = HEADER
    if encoding == ENC_JPEG:
        sizes = np.array([s.sizes[i] for s, i in items], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        idx_off = lab_off + 8 * n
        data_off = idx_off + 8 * (n + 1)
        data_size = int(offsets[-1])
        h = w = 0
        c = 3
    else:
        h, w, c = shape
        idx_off = 0
        data_off = lab_off + 8 * n
        data_size = n * h * w * c
    file_size = data_off + data_size
    header = struct.pack("<8sIIQIIIIQQQQQ", MAGIC, VERSION, encoding, n, h, w, c, num_classes, lab_off, idx_off,
                         data_off, data_size, file_size)
    header += b"\0" * (HEADER - len(header))
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(header)
            f.write(labels.astype("<i8").tobytes())
            if encoding == ENC_JPEG:
                f.write(offsets.astype("<i8").tobytes())
            written = 0
            for s, i in items:
                b = s.get(i)
                f.write(b)
                written += len(b)
            if written != data_size:
                fail(path, "data_size", f"wrote {written} bytes, expected {data_size}")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("inputs", nargs="+", metavar="INPUT")
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--shard-size", type=int, default=0, help="images per shard; OUT becomes a folder")
    ap.add_argument("--num-classes", type=int, default=0, help="default: class folders, else max label + 1")
    ap.add_argument("--classes", help="synsets.txt giving the label of each class folder")
    ap.add_argument("--raw", action="store_true", help="decode JPEG inputs with Pillow, store raw pixels")
    ap.add_argument("--eval-size", type=int, default=0, help="with --raw: eval-transform JPEGs to S x S")
    ap.add_argument("--limit", type=int, default=0, help="pack only the first N images (for tests)")
    a = ap.parse_args(argv)
    try:
        if a.eval_size and not a.raw:
            fail(a.out, "--eval-size", "needs --raw")
        sources = []
        for p in a.inputs:
            if os.path.isdir(p):
                sources.append(load_tree(p, a.classes))
            elif os.path.isfile(p):
                sources.append(load_npz(p))
            else:
                fail(p, "file", "not found")
        if a.raw:
            sources = [decode_raw(s, a.eval_size) if s.encoding == ENC_JPEG else s for s in sources]
        enc = sources[0].encoding
        for s in sources:
            if s.encoding != enc:
                fail(s.path, "encoding", "inputs mix decoded images and JPEG bytes: pass --raw")
        shape = sources[0].shape
        if enc == ENC_RAW:
            for s in sources:
                if tuple(s.shape) != tuple(shape):
                    fail(s.path, "images", f"image size {tuple(s.shape)} differs from {tuple(shape)}")
        items = [(s, i) for s in sources for i in range(s.count)]
        if a.limit:
            items = items[: a.limit]
        if not items:
            fail(a.inputs[0], "count", "no images")
        all_labels = np.concatenate([s.labels for s in sources])
        if all_labels.min() < 0:
            fail(a.inputs[0], "labels", f"negative label {all_labels.min()}")
        ncls = a.num_classes or max([getattr(s, "num_classes", 0) for s in sources] + [int(all_labels.max()) + 1])
        if all_labels.max() >= ncls:
            fail(a.inputs[0], "labels", f"label {all_labels.max()} >= num_classes {ncls}")
        if a.shard_size > 0:
            os.makedirs(a.out, exist_ok=True)
            for k, start in enumerate(range(0, len(items), a.shard_size)):
                write_shard(os.path.join(a.out, f"part-{k:05d}.rqshard"), items[start:start + a.shard_size], enc, shape,
                            ncls)
        else:
            write_shard(a.out, items, enc, shape, ncls)
        print(f"{a.out}: {len(items)} images, {ncls} classes, encoding {'jpeg' if enc == ENC_JPEG else 'raw'}"
              + ("" if enc == ENC_JPEG else f" {tuple(shape)}"))
        return 0
    except PackError as e:
        print(f"pack_dataset: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"pack_dataset: {e.filename or a.out}: file: {e.strerror}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
