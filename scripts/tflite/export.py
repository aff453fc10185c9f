# export.py — a ratq integer model (.ratqm) as a standard int8 TFLite flatbuffer, built with the schema's object
# API (ai_edge_litert.schema_py_generated, the generated TFLite schema that ships with LiteRT).
#
# Mapping (host/qmodel/qmodel.h -> TFLite):
#   network input   int8 [1, H, W, C], scale S_in, zero point z_in
#   CONV            CONV_2D, filter int8 [O][KH][KW][I] (OHWI, = ratq's layout), per-channel symmetric
#                   (quantized_dimension 0, zero points 0), bias int32 [O] with scale S_x S_w[c]
#   DWCONV          DEPTHWISE_CONV_2D, filter int8 [1][KH][KW][O] (= ratq's [KH][KW][O]), quantized_dimension 3
#   FC              FULLY_CONNECTED over the flattened HWC input, filter int8 [O][D], output [1, O]
#   ADD             ADD (int8, LiteRT derives the three multipliers from the three scales)
#   GAP             MEAN over axes (1, 2), keep_dims: output [1, 1, 1, C]
#   AVGPOOL         AVERAGE_POOL_2D
#   clamp           the fused activation whose LiteRT range (CalculateActivationRangeQuantized) equals
#                   [act_min, act_max]: NONE, RELU, RELU6 (else an error); MEAN has none ([-128, 127] only)
#   padding         SAME or VALID, whichever equals the op's pads and output size (else an error)
#   tensor names    the op's ratq name (op outputs), "input"
# Scales: activations are the model's scales rounded to float32. The weight scale of a channel is the float32
# nearest to S_y m 2^-s / S_x, so that LiteRT's recomputed multiplier (double)S_x (double)S_w / (double)S_y, after
# QuantizeMultiplier, equals the model's (m, s) wherever a float32 can (counted per op in the stats). At k = 31
# with float32 model scales it always does; at k < 31 it does when S_y / S_x has a short mantissa (equal or
# power-of-two activation scales), else the multiplier is the nearest LiteRT can represent (~2^-24 relative).
# Metadata "ratq" (JSON): what TFLite cannot hold, so that `ratq import-tflite` restores the .ratqm byte for byte:
#   k, rounding, arch, the float64 scales (float.hex) and every (m, s).
import json
import math

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as tfl

import litert_math as lm
import ratqm
from ratqm import ADD, AVGPOOL, CONV, DWCONV, FC, GAP, RatqError

METADATA_NAME = "ratq"
OP_VERSIONS = {  # int8 per-channel versions registered by LiteRT's builtin resolvers
    tfl.BuiltinOperator.CONV_2D: 3, tfl.BuiltinOperator.DEPTHWISE_CONV_2D: 3,
    tfl.BuiltinOperator.FULLY_CONNECTED: 4, tfl.BuiltinOperator.ADD: 2, tfl.BuiltinOperator.MEAN: 2,
    tfl.BuiltinOperator.AVERAGE_POOL_2D: 2}


def k_to_31(r, k):
    """A k-bit rescale (m, s) as the 31-bit one with the same value (what QuantizeMultiplier must return)."""
    m, s = int(r[0]), int(r[1])
    return (0, 0) if m == 0 else (m << (31 - k), s + 31 - k)


def f32(x):
    return float(np.float32(x))


def weight_scale(s_x, s_y, r31, s_w):
    """(float32 S_w to write, exact?) for one channel: the float32 nearest to S_y m 2^-s / S_x. Its recomputed
    multiplier is the closest LiteRT can get to the model's (m, s); it is exact when it rounds (QuantizeMultiplier)
    to the same 31-bit value. A float32 step moves the multiplier by ~2^-24 relative, the 31-bit rounding window is
    ~2^-31 wide, so no other float32 can be exact when the nearest is not."""
    if r31[0] == 0:
        w = f32(s_w)
        return w, lm.conv_multiplier(s_x, w, s_y) == (0, 0)
    w = f32(math.ldexp(r31[0], -r31[1]) * f32(s_y) / f32(s_x))
    return w, lm.conv_multiplier(s_x, w, s_y) == r31


def padding_of(op, path, i):
    """TFLite padding (SAME / VALID) equal to the op's pads and output size, or RatqError."""
    s = op.shape
    ok = {tfl.Padding.SAME: True, tfl.Padding.VALID: True}
    for (n_in, n_out, k, st, d, lo, hi) in ((s["in_h"], s["out_h"], s["kernel_h"], s["stride_h"], s["dilation_h"],
                                            s["pad_top"], s["pad_bottom"]),
                                           (s["in_w"], s["out_w"], s["kernel_w"], s["stride_w"], s["dilation_w"],
                                            s["pad_left"], s["pad_right"])):
        dk = (k - 1) * d + 1
        same_out = (n_in + st - 1) // st
        total = max((same_out - 1) * st + dk - n_in, 0)
        ok[tfl.Padding.SAME] &= n_out == same_out and lo == total // 2 and hi == total - total // 2
        ok[tfl.Padding.VALID] &= n_out == (n_in - dk + st) // st and lo == 0 and hi == 0
    for p in (tfl.Padding.SAME, tfl.Padding.VALID):
        if ok[p]:
            return p
    raise RatqError(path, f"op {i} ({ratqm.KIND_NAMES[op.kind]}): pad_top",
                    f"pads {s['pad_top']},{s['pad_left']},{s['pad_bottom']},{s['pad_right']} are neither TFLite SAME "
                    "nor VALID padding")


def fused_activation(op, s_y32, path, i):
    lo, hi, z = op.act_min, op.act_max, op.z_y
    cands = [(tfl.ActivationFunctionType.NONE, -128, 127), (tfl.ActivationFunctionType.RELU, max(-128, z), 127),
             (tfl.ActivationFunctionType.RELU6, max(-128, z), lm.relu6_max(s_y32, z))]
    for act, a, b in cands:
        if (a, b) == (lo, hi):
            return act
    raise RatqError(path, f"op {i} ({ratqm.KIND_NAMES[op.kind]}): act_max",
                    f"clamp [{lo}, {hi}] is no TFLite fused activation (NONE, RELU, RELU6) for scale {s_y32:.9g}, "
                    f"zero point {z}")


class Builder:
    def __init__(self):
        self.tensors, self.buffers, self.codes, self.operators = [], [tfl.BufferT()], [], []

    def buffer(self, arr):
        b = tfl.BufferT()
        b.data = np.frombuffer(np.ascontiguousarray(arr).tobytes(), np.uint8)
        self.buffers.append(b)
        return len(self.buffers) - 1

    def tensor(self, name, shape, ttype, scales=None, zps=None, qdim=0, data=None):
        t = tfl.TensorT()
        t.name, t.shape, t.type = name.encode(), np.array(shape, np.int32), ttype
        t.buffer = self.buffer(data) if data is not None else 0
        if scales is not None:
            q = tfl.QuantizationParametersT()
            q.scale = np.array(scales, np.float32)
            q.zeroPoint = np.array(zps, np.int64)
            q.quantizedDimension = qdim
            t.quantization = q
        self.tensors.append(t)
        return len(self.tensors) - 1

    def op(self, code, inputs, outputs, opt_type, opt):
        if code not in self.codes:
            self.codes.append(code)
        o = tfl.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = self.codes.index(code), inputs, outputs
        o.builtinOptionsType, o.builtinOptions = opt_type, opt
        self.operators.append(o)


def build(m, path, ops=None, keep_metadata=True):
    """ModelT of model m (ops: the op indices to include, default all; an input of an included op that no
    included op produces becomes a graph input). Returns (ModelT, stats). stats: per op
    {"op", "kind", "multipliers", "exact"} counting LiteRT multipliers equal to the model's (m, s)."""
    ops = list(range(len(m.ops))) if ops is None else ops
    bld, stats = Builder(), []
    act = {}  # producer index (-1 = network input) -> tensor index

    def act_tensor(src):
        if src not in act:
            if src < 0:
                shape, s, z, name = [1, m.in_h, m.in_w, m.in_c], m.input_scale, m.input_zero_point, "input"
            else:
                p = m.ops[src]
                shape = [1, p.shape["out_h"], p.shape["out_w"], p.shape["out_c"]]
                s, z, name = p.s_y, p.z_y, p.name or f"op{src}"
            act[src] = bld.tensor(name, shape, tfl.TensorType.INT8, [f32(s)], [z])
        return act[src]

    graph_inputs = []
    for i in ops:
        op = m.ops[i]
        kind = ratqm.KIND_NAMES[op.kind]
        for src in ([op.inp, op.in2] if op.kind == ADD else [op.inp]):
            if src not in act and (src < 0 or src not in ops):
                graph_inputs.append(act_tensor(src))
        sh = op.shape
        s_x32, s_y32 = f32(op.s_x), f32(op.s_y)
        out_shape = [1, sh["out_c"]] if op.kind == FC else [1, sh["out_h"], sh["out_w"], sh["out_c"]]
        y = bld.tensor(op.name or f"op{i}", out_shape, tfl.TensorType.INT8, [s_y32], [op.z_y])
        act[i] = y
        x = act_tensor(op.inp)
        st = {"op": i, "kind": kind, "multipliers": 0, "exact": 0}
        if op.kind in (CONV, DWCONV, FC):
            if op.kind == CONV and sh["groups"] != 1:
                raise RatqError(path, f"op {i} (conv): groups", f"{sh['groups']}, grouped convolution is not exported")
            nr = op.rescale.shape[0]
            ws, exact = [], 0
            for c in range(nr):
                w, ok = weight_scale(op.s_x, op.s_y, k_to_31(op.rescale[c], m.k), op.s_w[c])
                ws.append(w)
                exact += ok
            st["multipliers"], st["exact"] = nr, exact
            zeros = [0] * nr
            bias_scales = [f32(s_x32 * w) for w in ws]
            if op.kind == CONV:
                wshape, qdim = [sh["out_c"], sh["kernel_h"], sh["kernel_w"], sh["in_c"]], 0
            elif op.kind == DWCONV:
                wshape, qdim = [1, sh["kernel_h"], sh["kernel_w"], sh["out_c"]], 3
            else:
                wshape, qdim = [sh["out_c"], sh["in_h"] * sh["in_w"] * sh["in_c"]], 0
            wt = bld.tensor(f"{op.name}/weights", wshape, tfl.TensorType.INT8, ws, zeros, qdim, op.weights)
            bt = bld.tensor(f"{op.name}/bias", [sh["out_c"]], tfl.TensorType.INT32, bias_scales, zeros, 0,
                            op.bias.astype("<i4"))
            fa = fused_activation(op, s_y32, path, i)
            if op.kind == FC:
                o = tfl.FullyConnectedOptionsT()
                o.fusedActivationFunction, o.weightsFormat, o.keepNumDims = fa, 0, False
                bld.op(tfl.BuiltinOperator.FULLY_CONNECTED, [x, wt, bt], [y],
                       tfl.BuiltinOptions.FullyConnectedOptions, o)
            elif op.kind == CONV:
                o = tfl.Conv2DOptionsT()
                o.padding, o.strideH, o.strideW = padding_of(op, path, i), sh["stride_h"], sh["stride_w"]
                o.dilationHFactor, o.dilationWFactor, o.fusedActivationFunction = sh["dilation_h"], sh["dilation_w"], fa
                bld.op(tfl.BuiltinOperator.CONV_2D, [x, wt, bt], [y], tfl.BuiltinOptions.Conv2DOptions, o)
            else:
                o = tfl.DepthwiseConv2DOptionsT()
                o.padding, o.strideH, o.strideW = padding_of(op, path, i), sh["stride_h"], sh["stride_w"]
                o.dilationHFactor, o.dilationWFactor, o.fusedActivationFunction = sh["dilation_h"], sh["dilation_w"], fa
                o.depthMultiplier = sh["depth_multiplier"]
                bld.op(tfl.BuiltinOperator.DEPTHWISE_CONV_2D, [x, wt, bt], [y],
                       tfl.BuiltinOptions.DepthwiseConv2DOptions, o)
        elif op.kind == ADD:
            x2 = act_tensor(op.in2)
            o = tfl.AddOptionsT()
            o.fusedActivationFunction = fused_activation(op, s_y32, path, i)
            bld.op(tfl.BuiltinOperator.ADD, [x, x2], [y], tfl.BuiltinOptions.AddOptions, o)
            lit = lm.add_multipliers(op.s_x, op.s_x2, op.s_y)
            st["multipliers"] = 3
            st["exact"] = sum(lm.same_value(lit[j], k_to_31(op.rescale[j], m.k)) for j in range(3))
        elif op.kind == GAP:
            if (op.act_min, op.act_max) != (-128, 127):
                raise RatqError(path, f"op {i} (gap): act_max",
                                f"clamp [{op.act_min}, {op.act_max}]: TFLite MEAN has no fused activation")
            axis = bld.tensor(f"{op.name}/axis", [2], tfl.TensorType.INT32, data=np.array([1, 2], "<i4"))
            o = tfl.ReducerOptionsT()
            o.keepDims = True
            bld.op(tfl.BuiltinOperator.MEAN, [x, axis], [y], tfl.BuiltinOptions.ReducerOptions, o)
            lit = lm.mean_multiplier(op.s_x, op.s_y, sh["in_h"] * sh["in_w"])
            st["multipliers"], st["exact"] = 1, int(lit == k_to_31(op.rescale[0], m.k))
        elif op.kind == AVGPOOL:
            o = tfl.Pool2DOptionsT()
            o.padding, o.strideH, o.strideW = padding_of(op, path, i), sh["stride_h"], sh["stride_w"]
            o.filterHeight, o.filterWidth = sh["kernel_h"], sh["kernel_w"]
            o.fusedActivationFunction = fused_activation(op, s_y32, path, i)
            bld.op(tfl.BuiltinOperator.AVERAGE_POOL_2D, [x], [y], tfl.BuiltinOptions.Pool2DOptions, o)
        else:
            raise RatqError(path, f"op {i}: kind", f"unknown op kind {op.kind}")
        stats.append(st)

    sg = tfl.SubGraphT()
    sg.tensors, sg.operators, sg.name = bld.tensors, bld.operators, b"main"
    sg.inputs, sg.outputs = graph_inputs, [act[ops[-1]]]
    model = tfl.ModelT()
    model.version, model.subgraphs, model.buffers = 3, [sg], bld.buffers
    model.description = f"ratq {m.arch}".encode()
    model.operatorCodes = []
    for code in bld.codes:
        c = tfl.OperatorCodeT()
        c.builtinCode, c.deprecatedBuiltinCode, c.version = code, min(code, 127), OP_VERSIONS[code]
        model.operatorCodes.append(c)
    if keep_metadata:
        md = tfl.MetadataT()
        md.name, md.buffer = METADATA_NAME.encode(), bld.buffer(np.frombuffer(metadata_json(m), np.uint8))
        model.metadata = [md]
        model.buffers = bld.buffers
    return model, stats


def metadata_json(m):
    h = float.hex
    return json.dumps({
        "format": "ratq-tflite/1", "arch": m.arch, "k": m.k, "rounding": ratqm.ROUNDING_NAMES[m.rounding],
        "input_scale": h(m.input_scale),
        "ops": [{"name": op.name, "s_x": h(op.s_x), "s_x2": h(op.s_x2), "s_y": h(op.s_y),
                 "s_w": [h(float(v)) for v in op.s_w] if op.s_w is not None else [],
                 "rescale": op.rescale.astype(int).tolist()} for op in m.ops]}, separators=(",", ":")).encode()


def serialize(model):
    b = flatbuffers.Builder(1 << 20)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())
