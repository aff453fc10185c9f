# ratqm.py — the .ratqm integer model file (format version 1, host/qmodel/file.c) read and written in Python.
#
# Layout (all little-endian): header 84 bytes (magic "RATQM\0\0\0", u32 version, char arch[32], i32 in_h in_w in_c
# num_classes k rounding, f64 input_scale, i32 input_zero_point n_ops), then per op: i32 kind, char name[64],
# i32 in in2, 18 x i32 geometry, i32 per_channel, i64 n_weights, i32 n_bias n_rescale, f64 s_x s_x2 s_y,
# i32 z_x z_x2 z_y act_min act_max, i8 weights[n_weights], i32 bias[n_bias], (i32 m, i32 s) rescale[n_rescale],
# f64 s_w[n_rescale] (conv/dwconv/fc only). The C loader (ratq_qmodel_load) is the validating reader of record:
# this one checks only what it needs to walk the file; `ratq export-tflite` validates with C before calling it.
import struct
from dataclasses import dataclass, field

import numpy as np

MAGIC = b"RATQM\0\0\0"
VERSION = 1
CONV, DWCONV, FC, ADD, GAP, AVGPOOL = range(6)
KIND_NAMES = ("conv", "dwconv", "fc", "add", "gap", "avgpool")
ROUNDING_NAMES = ("tflite", "single", "half_even")
SHAPE_FIELDS = ("in_h", "in_w", "in_c", "out_h", "out_w", "out_c", "kernel_h", "kernel_w", "stride_h", "stride_w",
                "dilation_h", "dilation_w", "pad_top", "pad_left", "pad_bottom", "pad_right", "groups",
                "depth_multiplier")
HAS_WEIGHTS = (CONV, DWCONV, FC)


class RatqError(Exception):
    """One error line 'ratq: FILE: field: what' (exit 2)."""

    def __init__(self, path, field, what):
        super().__init__(f"{path}: {field}: {what}")


@dataclass
class Op:
    kind: int
    name: str
    inp: int
    in2: int
    shape: dict
    per_channel: int
    s_x: float
    s_x2: float
    s_y: float
    z_x: int
    z_x2: int
    z_y: int
    act_min: int
    act_max: int
    weights: np.ndarray = None  # int8, layout per kind (host/qmodel/qmodel.h)
    bias: np.ndarray = None     # int32 [out_c]
    rescale: np.ndarray = None  # int32 [n_rescale][2] (m, s)
    s_w: np.ndarray = None      # float64 [n_rescale]

    def out_count(self):
        s = self.shape
        return s["out_h"] * s["out_w"] * s["out_c"]


@dataclass
class Model:
    arch: str
    in_h: int
    in_w: int
    in_c: int
    num_classes: int
    k: int
    rounding: int
    input_scale: float
    input_zero_point: int
    ops: list = field(default_factory=list)


def n_rescale(op):
    if op.kind in HAS_WEIGHTS:
        return op.shape["out_c"] if op.per_channel else 1
    return {ADD: 3, GAP: 1}.get(op.kind, 0)


def load(path):
    try:
        with open(path, "rb") as f:
            b = f.read()
    except OSError as e:
        raise RatqError(path, "file", e.strerror or str(e))
    pos = 0

    def take(n, fld):
        nonlocal pos
        if len(b) - pos < n:
            raise RatqError(path, fld, f"truncated (needs {n} bytes at offset {pos}, file has {len(b)})")
        pos += n
        return b[pos - n:pos]

    if take(8, "magic") != MAGIC:
        raise RatqError(path, "magic", 'not a ratq integer model (expected "RATQM")')
    (version,) = struct.unpack("<I", take(4, "version"))
    if version != VERSION:
        raise RatqError(path, "version", f"{version}, this reader reads version {VERSION}")
    arch = take(32, "arch").split(b"\0", 1)[0].decode("ascii", "replace")
    in_h, in_w, in_c, ncls, k, rnd = struct.unpack("<6i", take(24, "in_h"))
    (s_in,) = struct.unpack("<d", take(8, "input_scale"))
    z_in, n_ops = struct.unpack("<2i", take(8, "input_zero_point"))
    m = Model(arch, in_h, in_w, in_c, ncls, k, rnd, s_in, z_in)
    for i in range(n_ops):
        (kind,) = struct.unpack("<i", take(4, f"op {i} kind"))
        name = take(64, f"op {i} name").split(b"\0", 1)[0].decode("utf-8", "replace")
        inp, in2 = struct.unpack("<2i", take(8, f"op {i} in"))
        shape = dict(zip(SHAPE_FIELDS, struct.unpack("<18i", take(72, f"op {i} geometry"))))
        (pc,) = struct.unpack("<i", take(4, f"op {i} per_channel"))
        (nw,) = struct.unpack("<q", take(8, f"op {i} n_weights"))
        nb, nr = struct.unpack("<2i", take(8, f"op {i} n_bias"))
        s_x, s_x2, s_y = struct.unpack("<3d", take(24, f"op {i} s_x"))
        z_x, z_x2, z_y, lo, hi = struct.unpack("<5i", take(20, f"op {i} z_x"))
        op = Op(kind, name, inp, in2, shape, pc, s_x, s_x2, s_y, z_x, z_x2, z_y, lo, hi)
        if nw < 0 or nb < 0 or nr < 0:
            raise RatqError(path, f"op {i} n_weights", "negative count")
        op.weights = np.frombuffer(take(nw, f"op {i} weights"), np.int8).copy()
        op.bias = np.frombuffer(take(4 * nb, f"op {i} bias"), "<i4").astype(np.int32)
        op.rescale = np.frombuffer(take(8 * nr, f"op {i} rescale"), "<i4").astype(np.int32).reshape(nr, 2)
        if kind in HAS_WEIGHTS:
            op.s_w = np.frombuffer(take(8 * nr, f"op {i} s_w"), "<f8").astype(np.float64)
        m.ops.append(op)
    if pos != len(b):
        raise RatqError(path, "end", f"{len(b) - pos} trailing bytes after the last op")
    return m


def dumps(m):
    """The file's bytes (the same bytes ratq_qmodel_save writes for the same model)."""
    out = [MAGIC, struct.pack("<I", VERSION), m.arch.encode("ascii")[:31].ljust(32, b"\0"),
           struct.pack("<6i", m.in_h, m.in_w, m.in_c, m.num_classes, m.k, m.rounding),
           struct.pack("<d", m.input_scale), struct.pack("<2i", m.input_zero_point, len(m.ops))]
    for op in m.ops:
        name = op.name.encode("utf-8")[:63].ljust(64, b"\0")
        nr = n_rescale(op)
        w = op.weights if op.weights is not None else np.zeros(0, np.int8)
        bias = op.bias if op.bias is not None else np.zeros(0, np.int32)
        rs = op.rescale if op.rescale is not None else np.zeros((nr, 2), np.int32)
        out += [struct.pack("<i", op.kind), name, struct.pack("<2i", op.inp, op.in2),
                struct.pack("<18i", *(op.shape[f] for f in SHAPE_FIELDS)),
                struct.pack("<iq2i", op.per_channel, w.size, bias.size, nr),
                struct.pack("<3d", op.s_x, op.s_x2, op.s_y),
                struct.pack("<5i", op.z_x, op.z_x2, op.z_y, op.act_min, op.act_max),
                w.astype(np.int8).tobytes(), bias.astype("<i4").tobytes(), rs.astype("<i4").tobytes()]
        if op.kind in HAS_WEIGHTS:
            out.append(np.asarray(op.s_w, "<f8").tobytes())
    return b"".join(out)
