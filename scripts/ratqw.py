"""ratqw.py — write and read ratq weight files (.ratqw) with the standard library and numpy only.

The format is defined once, in models/weights.h; this file mirrors it (keep the two in sync):

    offset  size  field
    0       8     magic        b"RATQW\\0\\0\\0"
    8       4     version      u32 = 1
    12      4     n_tensors    u32
    16      32    arch         NUL-padded ASCII: "lite0".."lite4", "tiny"
    48      4     num_classes  u32
    52      4     resolution   u32 (input height = width)
    56      8     file_size    u64, total bytes (detects truncation)
    64      128*n tensor table, one entry per tensor:
                    name[88]   NUL-padded ASCII (PyTorch state_dict name, e.g. "_blocks.3._bn1.weight")
                    dtype u32  1 = float32 little-endian (the only one in version 1)
                    ndim  u32  1..4
                    shape u32[4] (entries past ndim are 1)
                    offset u64 byte offset of the data from the start of the file, a multiple of 64
                    count  u64 number of elements = product of shape
    ...           tensor data, each block starting at its offset (64-byte aligned, zero padding between)

Layouts are ratq's (NHWC activations): conv weights OHWI [out][kh][kw][in], depthwise [kh][kw][c],
linear [out][in], vectors as is. All integers little-endian.
"""
import os
import struct

import numpy as np

MAGIC = b"RATQW\0\0\0"
VERSION = 1
HEADER_BYTES = 64
ENTRY_BYTES = 128
NAME_BYTES = 88
DTYPE_F32 = 1
ALIGN = 64


def _align(n):
    return (n + ALIGN - 1) // ALIGN * ALIGN


def write_ratqw(path, arch, num_classes, resolution, tensors):
    """tensors: list of (name, np.ndarray float32 in ratq layout). Writes atomically (temp file + rename)."""
    n = len(tensors)
    off = _align(HEADER_BYTES + ENTRY_BYTES * n)
    table = b""
    blobs = []
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr, dtype="<f4")
        if not 1 <= arr.ndim <= 4:
            raise ValueError(f"{name}: ndim {arr.ndim} not in 1..4")
        nb = name.encode("ascii")
        if len(nb) >= NAME_BYTES:
            raise ValueError(f"{name}: name longer than {NAME_BYTES - 1} bytes")
        shape = list(arr.shape) + [1] * (4 - arr.ndim)
        table += struct.pack("<88sII4IQQ", nb, DTYPE_F32, arr.ndim, *shape, off, arr.size)
        blobs.append((off, arr.tobytes()))
        off = _align(off + arr.nbytes)
    file_size = off if not blobs else blobs[-1][0] + len(blobs[-1][1])
    header = struct.pack("<8sII32sIIQ", MAGIC, VERSION, n, arch.encode("ascii"), num_classes, resolution, file_size)
    assert len(header) == HEADER_BYTES
    buf = bytearray(file_size)
    buf[:HEADER_BYTES] = header
    buf[HEADER_BYTES:HEADER_BYTES + len(table)] = table
    for o, b in blobs:
        buf[o:o + len(b)] = b
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(buf)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_ratqw(path):
    """Returns (meta dict, list of (name, np.ndarray)). Raises ValueError naming the field on bad input."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < HEADER_BYTES:
        raise ValueError(f"{path}: header: file is {len(buf)} bytes, shorter than the 64-byte header")
    magic, version, n, arch, ncls, res, fsize = struct.unpack_from("<8sII32sIIQ", buf, 0)
    if magic != MAGIC:
        raise ValueError(f"{path}: magic: not a ratq weight file")
    if version != VERSION:
        raise ValueError(f"{path}: version: {version}, expected {VERSION}")
    if fsize != len(buf):
        raise ValueError(f"{path}: file_size: header says {fsize} bytes, file has {len(buf)}")
    out = []
    for i in range(n):
        name, dt, nd, s0, s1, s2, s3, off, cnt = struct.unpack_from("<88sII4IQQ", buf, HEADER_BYTES + ENTRY_BYTES * i)
        shape = (s0, s1, s2, s3)[:nd]
        arr = np.frombuffer(buf, dtype="<f4", count=cnt, offset=off).reshape(shape)
        out.append((name.rstrip(b"\0").decode("ascii"), arr))
    meta = {"arch": arch.rstrip(b"\0").decode("ascii"), "num_classes": ncls, "resolution": res}
    return meta, out


def to_ratq_layout(name, arr):
    """PyTorch layout -> ratq layout. conv OIHW -> OHWI; depthwise [C,1,kh,kw] -> [kh,kw,C]; others unchanged."""
    if arr.ndim == 4:
        if "_depthwise_conv" in name:
            return np.ascontiguousarray(arr[:, 0, :, :].transpose(1, 2, 0))
        return np.ascontiguousarray(arr.transpose(0, 2, 3, 1))
    return np.ascontiguousarray(arr)


def from_ratq_layout(name, arr):
    """Inverse of to_ratq_layout (ratq layout -> PyTorch layout)."""
    if "_depthwise_conv" in name and arr.ndim == 3:
        return np.ascontiguousarray(arr.transpose(2, 0, 1)[:, None, :, :])
    if arr.ndim == 4:
        return np.ascontiguousarray(arr.transpose(0, 3, 1, 2))
    return np.ascontiguousarray(arr)
