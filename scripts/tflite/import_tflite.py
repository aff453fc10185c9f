# import_tflite.py — an int8 TFLite flatbuffer as a ratq integer model (the inverse of export.py).
#
# Accepted: one subgraph, one int8 input [1, H, W, C], operators CONV_2D (groups 1), DEPTHWISE_CONV_2D, ADD,
# MEAN over axes (1, 2) with keep_dims, AVERAGE_POOL_2D, FULLY_CONNECTED, in any order that reads only tensors
# already produced; the graph output is the last operator's output with 1 x 1 x classes elements. Every
# activation int8 with one scale and zero point; weights int8 symmetric (zero points 0), per channel on the
# output dimension or per tensor; biases int32 with zero point 0. Anything else (another op, a float tensor,
# a layout ratq cannot express) is RatqError naming the operator index and what is unsupported.
# Real scales are the file's float32 values; the rescalers are derived by ratq (C, ratq_qmodel_with_bits at
# k = 31, rounding tflite: LiteRT's QuantizeMultiplier). A "ratq" metadata entry (export.py) that matches the
# graph restores k, rounding, arch, the float64 scales and the stored (m, s) instead.
import json

import numpy as np
from ai_edge_litert import schema_py_generated as tfl

import ratqm
from export import METADATA_NAME
from ratqm import ADD, AVGPOOL, CONV, DWCONV, FC, GAP, RatqError

OP = tfl.BuiltinOperator
NAMES = {v: k for k, v in vars(OP).items() if not k.startswith("_")}
ACTS = {tfl.ActivationFunctionType.NONE: "none", tfl.ActivationFunctionType.RELU: "relu",
        tfl.ActivationFunctionType.RELU6: "relu6"}


def lst(v):
    """A flatbuffer vector (None, list or numpy array) as a list of Python ints."""
    return [] if v is None else [int(x) for x in v]


def load_model(path):
    try:
        with open(path, "rb") as f:
            buf = f.read()
    except OSError as e:
        raise RatqError(path, "file", e.strerror or str(e))
    if len(buf) < 8:
        raise RatqError(path, "header", f"truncated ({len(buf)} bytes)")
    if buf[4:8] != b"TFL3":
        raise RatqError(path, "file_identifier", 'not a TFLite flatbuffer (expected "TFL3")')
    try:
        model = tfl.ModelT.InitFromPackedBuf(buf, 0)
    except Exception as e:  # a malformed flatbuffer fails somewhere inside the generated reader
        raise RatqError(path, "flatbuffer", f"malformed or truncated ({type(e).__name__})")
    return model, buf


def convert(path):
    """(ratqm.Model, derive) for the TFLite file at path; derive = the rescalers must be derived by ratq."""
    model, _ = load_model(path)
    if not model.subgraphs or len(model.subgraphs) != 1:
        raise RatqError(path, "subgraphs", f"{len(model.subgraphs or [])}, ratq imports exactly one subgraph")
    sg = model.subgraphs[0]
    T = sg.tensors or []
    bufs = model.buffers or []

    def tensor(i, where):
        if i is None or i < 0 or i >= len(T):
            raise RatqError(path, where, f"tensor index {i} out of range")
        return T[i]

    def data(t, where, dtype, count):
        if t.buffer is None or t.buffer <= 0 or t.buffer >= len(bufs) or bufs[t.buffer].data is None:
            raise RatqError(path, where, "constant tensor without data")
        raw = np.asarray(bufs[t.buffer].data, np.uint8).tobytes()
        if len(raw) != count * np.dtype(dtype).itemsize:
            raise RatqError(path, where, f"{len(raw)} bytes of data for {count} elements")
        return np.frombuffer(raw, dtype).copy()

    def quant(t, where):
        q = t.quantization
        if q is None or q.scale is None or len(q.scale) == 0 or q.zeroPoint is None:
            raise RatqError(path, where, "not quantized (float tensors are not supported)")
        s = np.asarray(q.scale, np.float32)
        if not np.all(np.isfinite(s)) or not np.all(s > 0):
            raise RatqError(path, where, "scale is not finite and positive")
        return s, np.asarray(q.zeroPoint, np.int64), q.quantizedDimension

    def act_q(t, where):
        if t.type != tfl.TensorType.INT8:
            raise RatqError(path, where, f"type {t.type}, only int8 activations are supported")
        s, z, _ = quant(t, where)
        if len(s) != 1:
            raise RatqError(path, where, "per-channel activation quantization is not supported")
        return float(s[0]), int(z[0])

    g_in, g_out = lst(sg.inputs), lst(sg.outputs)
    if len(g_in) != 1:
        raise RatqError(path, "inputs", f"{len(g_in)} graph inputs, ratq needs exactly one")
    tin = tensor(g_in[0], "input")
    shp = lst(tin.shape)
    if len(shp) != 4 or shp[0] != 1:
        raise RatqError(path, "input", f"shape {shp}, ratq needs [1, H, W, C]")
    s_in, z_in = act_q(tin, "input")
    desc = (model.description or b"").decode("utf-8", "replace")
    m = ratqm.Model("tflite", shp[1], shp[2], shp[3], 0, 31, 0, s_in, z_in)
    producer = {g_in[0]: -1}  # tensor index -> op index
    geo = {g_in[0]: (shp[1], shp[2], shp[3])}
    codes = model.operatorCodes or []
    for i, o in enumerate(sg.operators or []):
        if o.opcodeIndex is None or o.opcodeIndex >= len(codes):
            raise RatqError(path, f"operator {i}", "opcode index out of range")
        c = codes[o.opcodeIndex]
        code = max(c.builtinCode or 0, c.deprecatedBuiltinCode or 0)
        name = NAMES.get(code, f"builtin {code}") if code != OP.CUSTOM else f"custom '{(c.customCode or b'').decode()}'"
        where = f"operator {i} ({name})"
        ins, outs = lst(o.inputs), lst(o.outputs)
        if code not in (OP.CONV_2D, OP.DEPTHWISE_CONV_2D, OP.ADD, OP.MEAN, OP.AVERAGE_POOL_2D, OP.FULLY_CONNECTED):
            raise RatqError(path, where, "unsupported operator (ratq imports CONV_2D, DEPTHWISE_CONV_2D, ADD, MEAN, "
                            "AVERAGE_POOL_2D, FULLY_CONNECTED)")
        if len(outs) != 1 or not ins:
            raise RatqError(path, where, f"{len(ins)} inputs / {len(outs)} outputs")
        src = ins[0]
        if src not in producer:
            raise RatqError(path, where, f"input tensor {src} is not produced by an earlier operator")
        x = tensor(src, where + " input")
        s_x, z_x = act_q(x, where + " input")
        y = tensor(outs[0], where + " output")
        s_y, z_y = act_q(y, where + " output")
        ih, iw, ic = geo[src]
        oshape = lst(y.shape)
        shape = {f: 0 for f in ratqm.SHAPE_FIELDS}
        shape.update(in_h=ih, in_w=iw, in_c=ic, kernel_h=1, kernel_w=1, stride_h=1, stride_w=1, dilation_h=1,
                     dilation_w=1, groups=1, depth_multiplier=1)
        op = ratqm.Op(0, (y.name or b"").decode("utf-8", "replace")[:63], producer[src], -2, shape, 0, s_x, 0.0,
                      s_y, z_x, 0, z_y, -128, 127)
        opt = o.builtinOptions
        fa = getattr(opt, "fusedActivationFunction", tfl.ActivationFunctionType.NONE) if opt is not None else 0
        if fa not in ACTS:
            raise RatqError(path, where, f"fused activation {fa} is not supported (NONE, RELU, RELU6)")
        if code in (OP.CONV_2D, OP.DEPTHWISE_CONV_2D, OP.FULLY_CONNECTED):
            weights_op(path, where, i, code, o, opt, op, tensor, data, quant, oshape)
        elif code == OP.ADD:
            if len(ins) != 2 or ins[1] not in producer:
                raise RatqError(path, where, "needs two inputs produced by earlier operators")
            x2 = tensor(ins[1], where + " input 2")
            op.s_x2, op.z_x2 = act_q(x2, where + " input 2")
            if geo[ins[1]] != (ih, iw, ic) or oshape != [1, ih, iw, ic]:
                raise RatqError(path, where, "broadcasting ADD is not supported (shapes differ)")
            op.kind, op.in2 = ADD, producer[ins[1]]
            shape.update(out_h=ih, out_w=iw, out_c=ic)
        elif code == OP.MEAN:
            if len(ins) != 2:
                raise RatqError(path, where, "needs an axis tensor")
            at = tensor(ins[1], where + " axis")
            if at.type != tfl.TensorType.INT32:
                raise RatqError(path, where + " axis", "not an int32 tensor")
            count = int(np.prod(at.shape)) if at.shape is not None else 1
            ax = sorted(int(v) % 4 for v in data(at, where + " axis", "<i4", count))
            if ax != [1, 2] or not (opt is not None and opt.keepDims):
                raise RatqError(path, where, "only MEAN over axes (1, 2) with keep_dims is supported")
            op.kind = GAP
            shape.update(out_h=1, out_w=1, out_c=ic)
        else:  # AVERAGE_POOL_2D
            op.kind = AVGPOOL
            shape.update(kernel_h=opt.filterHeight, kernel_w=opt.filterWidth, stride_h=opt.strideH,
                         stride_w=opt.strideW, out_c=ic)
            pad(path, where, opt.padding, shape, oshape)
            if (s_x, z_x) != (s_y, z_y):
                raise RatqError(path, where, "input and output quantization differ (ratq's AVERAGE_POOL_2D keeps them)")
        if len(oshape) not in (2, 4) or int(np.prod(oshape)) != shape["out_h"] * shape["out_w"] * shape["out_c"] \
                or oshape[0] != 1:
            raise RatqError(path, where, f"output shape {oshape} does not match the operator's geometry")
        op.act_min, op.act_max = act_range(fa, s_y, z_y)
        if code == OP.MEAN and fa != tfl.ActivationFunctionType.NONE:
            raise RatqError(path, where, "MEAN with a fused activation")
        m.ops.append(op)
        producer[outs[0]] = i
        geo[outs[0]] = (shape["out_h"], shape["out_w"], shape["out_c"])
    if len(m.ops) == 0:
        raise RatqError(path, "operators", "the subgraph has no operators")
    if g_out != [lst(sg.operators[-1].outputs)[0]]:
        raise RatqError(path, "outputs", "the graph output must be the last operator's output (one output)")
    last = m.ops[-1].shape
    if last["out_h"] != 1 or last["out_w"] != 1:
        raise RatqError(path, "outputs", f"output {last['out_h']} x {last['out_w']} x {last['out_c']} is not 1 x 1 x classes")
    m.num_classes = last["out_c"]
    derive = not apply_metadata(path, model, m, desc)
    return m, derive


def act_range(fa, s_y, z_y):
    import litert_math as lm
    if fa == tfl.ActivationFunctionType.RELU:
        return max(-128, z_y), 127
    if fa == tfl.ActivationFunctionType.RELU6:
        return max(-128, z_y), lm.relu6_max(s_y, z_y)
    return -128, 127


def pad(path, where, padding, shape, oshape):
    """Explicit pads of TFLite SAME / VALID padding (ComputePaddingHeightWidth) into shape."""
    if len(oshape) != 4:
        raise RatqError(path, where, f"output shape {oshape} is not [1, H, W, C]")
    for (n, st, k, d, o, lo, hi, oname) in (("in_h", "stride_h", "kernel_h", "dilation_h", 1, "pad_top", "pad_bottom",
                                             "out_h"),
                                            ("in_w", "stride_w", "kernel_w", "dilation_w", 2, "pad_left", "pad_right",
                                             "out_w")):
        if not (shape[st] and shape[st] > 0 and shape[k] and shape[k] > 0 and shape[d] and shape[d] > 0):
            raise RatqError(path, where, "stride, kernel and dilation must be positive")
        dk = (shape[k] - 1) * shape[d] + 1
        if padding == tfl.Padding.SAME:
            out = (shape[n] + shape[st] - 1) // shape[st]
            total = max((out - 1) * shape[st] + dk - shape[n], 0)
            shape[lo], shape[hi] = total // 2, total - total // 2
        elif padding == tfl.Padding.VALID:
            out = (shape[n] - dk + shape[st]) // shape[st]
        else:
            raise RatqError(path, where, f"padding {padding} is not supported")
        if out != oshape[o]:
            raise RatqError(path, where, f"output {oname} {oshape[o]} does not match the padding ({out})")
        shape[oname] = out


def weights_op(path, where, i, code, o, opt, op, tensor, data, quant, oshape):
    ins = lst(o.inputs)
    if len(ins) != 3 or ins[2] < 0:
        raise RatqError(path, where, "needs input, weights and bias tensors")
    w, b = tensor(ins[1], where + " weights"), tensor(ins[2], where + " bias")
    if w.type != tfl.TensorType.INT8:
        raise RatqError(path, where + " weights", f"type {w.type}, only int8 weights are supported")
    if b.type != tfl.TensorType.INT32:
        raise RatqError(path, where + " bias", f"type {b.type}, only int32 biases are supported")
    sw, zw, qdim = quant(w, where + " weights")
    _, zb, _ = quant(b, where + " bias")
    if np.any(zw != 0) or np.any(zb != 0):
        raise RatqError(path, where + " weights", "asymmetric weights / bias (zero point != 0) are not supported")
    wshape = lst(w.shape)
    sh = op.shape
    if code == OP.FULLY_CONNECTED:
        if len(wshape) != 2 or wshape[1] != sh["in_h"] * sh["in_w"] * sh["in_c"]:
            raise RatqError(path, where + " weights", f"shape {wshape} does not match the input depth")
        if opt is not None and (opt.keepNumDims or opt.weightsFormat != 0):
            raise RatqError(path, where, "keep_num_dims / shuffled weights are not supported")
        op.kind, out_c, out_dim = FC, wshape[0], 0
        sh.update(out_h=1, out_w=1, out_c=out_c)
    elif code == OP.CONV_2D:
        if len(wshape) != 4 or wshape[3] != sh["in_c"]:
            raise RatqError(path, where + " weights", f"shape {wshape}: grouped or mismatched convolution")
        op.kind, out_c, out_dim = CONV, wshape[0], 0
        sh.update(out_c=out_c, kernel_h=wshape[1], kernel_w=wshape[2], stride_h=opt.strideH, stride_w=opt.strideW,
                  dilation_h=opt.dilationHFactor, dilation_w=opt.dilationWFactor)
        pad(path, where, opt.padding, sh, oshape)
    else:
        if len(wshape) != 4 or wshape[0] != 1:
            raise RatqError(path, where + " weights", f"shape {wshape} is not [1, KH, KW, C]")
        op.kind, out_c, out_dim = DWCONV, wshape[3], 3
        if out_c != sh["in_c"] * (opt.depthMultiplier or 1):
            raise RatqError(path, where, "depth_multiplier does not match the channels")
        sh.update(out_c=out_c, kernel_h=wshape[1], kernel_w=wshape[2], stride_h=opt.strideH, stride_w=opt.strideW,
                  dilation_h=opt.dilationHFactor, dilation_w=opt.dilationWFactor, depth_multiplier=out_c // sh["in_c"])
        pad(path, where, opt.padding, sh, oshape)
    if len(sw) == out_c and out_c > 1:
        if qdim != out_dim:
            raise RatqError(path, where + " weights", f"per-channel quantized_dimension {qdim}, ratq needs {out_dim}")
        op.per_channel = 1
    elif len(sw) != 1:
        raise RatqError(path, where + " weights", f"{len(sw)} scales for {out_c} output channels")
    n = int(np.prod(wshape))
    op.weights = data(w, where + " weights", np.int8, n)
    if np.any(op.weights == -128):
        raise RatqError(path, where + " weights", "a weight is -128 (ratq's symmetric range is -127..127)")
    if lst(b.shape) != [out_c]:
        raise RatqError(path, where + " bias", f"shape {lst(b.shape)} is not [{out_c}]")
    op.bias = data(b, where + " bias", "<i4", out_c).astype(np.int32)
    op.s_w = sw.astype(np.float64)
    op.rescale = np.zeros((len(sw), 2), np.int32)


def apply_metadata(path, model, m, desc):
    """Restore the ratq fields from the "ratq" metadata entry if there is one; True if applied."""
    md = [e for e in (model.metadata or []) if (e.name or b"").decode() == METADATA_NAME]
    if not md:
        return False
    try:
        meta = json.loads(np.asarray(model.buffers[md[0].buffer].data, np.uint8).tobytes())
        if meta.get("format") != "ratq-tflite/1" or len(meta["ops"]) != len(m.ops):
            raise ValueError("format or op count")
        m.arch, m.k, m.rounding = meta["arch"], int(meta["k"]), ratqm.ROUNDING_NAMES.index(meta["rounding"])
        m.input_scale = float.fromhex(meta["input_scale"])
        for op, e in zip(m.ops, meta["ops"]):
            op.name = e["name"]
            op.s_x, op.s_x2, op.s_y = (float.fromhex(e[f]) for f in ("s_x", "s_x2", "s_y"))
            rs = np.array(e["rescale"], np.int64).reshape(-1, 2)
            if rs.shape[0] != ratqm.n_rescale(op) or np.any(np.abs(rs) >= 2 ** 31):
                raise ValueError("rescale count")
            op.rescale = rs.astype(np.int32)
            if op.s_w is not None:
                if len(e["s_w"]) != len(op.s_w):
                    raise ValueError("s_w count")
                op.s_w = np.array([float.fromhex(v) for v in e["s_w"]], np.float64)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as ex:
        raise RatqError(path, "metadata 'ratq'", f"does not describe this graph ({ex})")
    return True
