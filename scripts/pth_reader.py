"""pth_reader.py — read a PyTorch state_dict file (.pth) without PyTorch: standard library + numpy.

Two container formats exist:
  * legacy (torch < 1.6, and the efficientnet-lite0 wheel): five pickles in a row — magic number
    0x1950a86a20f9469cfc6c, protocol version 1001, sys info, the object (tensors are
    torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...) with storages as persistent ids
    ('storage', StorageType, key, location, numel[, view]) ), the list of storage keys — then for each key in that
    order an int64 element count followed by the raw little-endian elements.
  * zip (torch >= 1.6): archive/data.pkl holds the object, archive/data/<key> each storage's raw bytes.
Only what a state_dict needs is understood: OrderedDict, tensors of float/double/half/long/int storages.
"""
import collections
import io
import pickle
import struct
import zipfile

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class _StorageType:
    def __init__(self, name):
        if name not in _STORAGE_DTYPES:
            raise ValueError(f"unsupported storage type torch.{name}")
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _Storage:
    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel, self.data = key, dtype, numel, None


class _LazyTensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def materialize(self):
        flat = self.storage.data
        item = flat.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset:], shape=self.size, strides=tuple(s * item for s in self.stride))
        return np.array(view)  # copy, contiguous


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    return _LazyTensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, storages):
        super().__init__(f)
        self.storages = storages

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name.endswith("Storage"):
            return _StorageType(name)
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unsupported object in checkpoint: {module}.{name}")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        stype, key, _location, numel = pid[1], str(pid[2]), pid[3], pid[4]
        if len(pid) > 5 and pid[5] is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        if key not in self.storages:
            self.storages[key] = _Storage(key, stype.dtype, numel)
        return self.storages[key]


def _materialize(obj):
    if isinstance(obj, _LazyTensor):
        return obj.materialize()
    if isinstance(obj, dict):
        return collections.OrderedDict((k, _materialize(v)) for k, v in obj.items())
    return obj


def load_state_dict(path):
    """Returns an OrderedDict name -> numpy array (in PyTorch's layout)."""
    if zipfile.is_zipfile(path):
        return _load_zip(path)
    return _load_legacy(path)


def _load_legacy(path):
    with open(path, "rb") as f:
        raw = f.read()
    f = io.BytesIO(raw)
    magic = pickle.load(f)
    if magic != LEGACY_MAGIC:
        raise ValueError(f"{path}: magic: not a PyTorch checkpoint")
    proto = pickle.load(f)
    if proto != 1001:
        raise ValueError(f"{path}: protocol version {proto}, expected 1001")
    sys_info = pickle.load(f)
    if not sys_info.get("little_endian", True):
        raise ValueError(f"{path}: big-endian checkpoints are not supported")
    storages = {}
    obj = _Unpickler(f, storages).load()
    keys = pickle.load(f)
    for key in keys:
        st = storages[str(key)]
        (count,) = struct.unpack("<q", f.read(8))
        if count != st.numel:
            raise ValueError(f"{path}: storage {key}: {count} elements on disk, {st.numel} expected")
        nbytes = count * st.dtype.itemsize
        data = f.read(nbytes)
        if len(data) != nbytes:
            raise ValueError(f"{path}: storage {key}: truncated")
        st.data = np.frombuffer(data, dtype=st.dtype.newbyteorder("<"))
    return _materialize(obj)


def _load_zip(path):
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl")]
        if len(pkl) != 1:
            raise ValueError(f"{path}: zip checkpoint without a single data.pkl")
        prefix = pkl[0][: -len("data.pkl")]
        storages = {}
        obj = _Unpickler(io.BytesIO(z.read(pkl[0])), storages).load()
        for key, st in storages.items():
            data = z.read(f"{prefix}data/{key}")
            st.data = np.frombuffer(data, dtype=st.dtype.newbyteorder("<"))[: st.numel]
    return _materialize(obj)
