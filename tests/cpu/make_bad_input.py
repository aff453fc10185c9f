#!/usr/bin/env python3
# make_bad_input.py — one broken input per case for tests/cpu/check_tflite_bad.sh, made from a valid model:
#   make_bad_input.py CASE GOOD.tflite GOOD.ratqm OUT
# TFLite cases edit the flatbuffer with the schema's object API; .ratqm cases edit the file's fields.
import os
import sys

import numpy as np

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "tflite")
sys.path.insert(0, root)
import export  # noqa: E402
import ratqm  # noqa: E402
from ai_edge_litert import schema_py_generated as tfl  # noqa: E402


def edit_tflite(good, out, fn):
    with open(good, "rb") as f:
        model = tfl.ModelT.InitFromPackedBuf(f.read(), 0)
    fn(model, model.subgraphs[0])
    with open(out, "wb") as f:
        f.write(export.serialize(model))


def op_tensor(sg, i, slot, outputs=False):
    return sg.tensors[(sg.operators[i].outputs if outputs else sg.operators[i].inputs)[slot]]


def unsupported_op(model, sg):
    c = tfl.OperatorCodeT()
    c.builtinCode = c.deprecatedBuiltinCode = tfl.BuiltinOperator.SOFTMAX
    c.version = 1
    model.operatorCodes.append(c)
    sg.operators[3].opcodeIndex = len(model.operatorCodes) - 1


def float_tensor(model, sg):
    t = op_tensor(sg, 2, 0, outputs=True)
    t.type, t.quantization = tfl.TensorType.FLOAT32, None


def per_channel_activation(model, sg):
    q = op_tensor(sg, 2, 0, outputs=True).quantization
    q.scale, q.zeroPoint = np.array([q.scale[0]] * 2, np.float32), np.array([q.zeroPoint[0]] * 2, np.int64)


def asymmetric_weights(model, sg):
    q = op_tensor(sg, 0, 1).quantization
    q.zeroPoint = np.ones_like(q.zeroPoint)


def quantized_dimension(model, sg):
    op_tensor(sg, 0, 1).quantization.quantizedDimension = 3


def weight_minus_128(model, sg):
    b = model.buffers[op_tensor(sg, 0, 1).buffer]
    b.data = np.array(b.data, np.uint8)
    b.data[0] = 0x80


def two_subgraphs(model, sg):
    model.subgraphs.append(sg)


def mean_axis(model, sg):
    i = next(j for j, o in enumerate(sg.operators)
             if model.operatorCodes[o.opcodeIndex].builtinCode == tfl.BuiltinOperator.MEAN)
    b = model.buffers[op_tensor(sg, i, 1).buffer]
    b.data = np.frombuffer(np.array([1, 3], "<i4").tobytes(), np.uint8)


def ratqm_pads(good, out):
    """Asymmetric pads (1 top, 0 bottom) of a stride-2 conv: a valid ratq model that TFLite cannot express."""
    m = ratqm.load(good)
    s = m.ops[0].shape
    s["pad_top"], s["pad_bottom"], s["pad_left"], s["pad_right"] = 1, 0, 1, 0
    with open(out, "wb") as f:
        f.write(ratqm.dumps(m))


def main():
    case, good_tfl, good_rq, out = sys.argv[1:5]
    if case == "ratqm_padding":
        return ratqm_pads(good_rq, out)
    edit_tflite(good_tfl, out, globals()[case])


if __name__ == "__main__":
    main()
