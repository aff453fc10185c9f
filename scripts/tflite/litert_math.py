# litert_math.py — what LiteRT's Prepare computes from the float32 scales of a model (tflite/kernels/*.cc), so
# the exporter can choose scales and the reports can say which multipliers LiteRT recomputes exactly. This is
# LiteRT's arithmetic, not ratq's: ratq's own (m, s) always come from the model file (kernels/math/rescale.h).
#
#   QuantizeMultiplier(M)  M = f 2^e (frexp), q = round_half_away(f 2^31), carry q = 2^31 -> 2^30, e + 1;
#                          e < -31 -> (0, 0). In ratq's terms the k = 31 rescaler (m, s) = (q, 31 - e).
#   CONV / DWCONV / FC     M[c] = (double)S_x * (double)S_w[c] / (double)S_y
#   ADD (int8)             t = 2 * max(S_a, S_b) (float), M1 = S_a / t, M2 = S_b / t, Mo = t / (2^20 S_y)
#   MEAN (reference)       (q, e) = QuantizeMultiplier(S_x / S_y); n = H W; sh = min(floor(log2 n), 32, 31 + e);
#                          q' = (q << sh) / n (truncating), e' = e - sh   (reduce.h QuantizedMeanOrSum)
#   activation clamp       ReLU6: [max(-128, z), min(127, z + round_half_away(6.0f / S))] in float32
import math

import numpy as np


def quantize_multiplier(M):
    """LiteRT's QuantizeMultiplier as a ratq rescale (m, s) with m in [2^30, 2^31) or (0, 0)."""
    if M == 0.0:
        return (0, 0)
    f, e = math.frexp(M)
    q = math.floor(f * 2.0 ** 31 + 0.5)  # exact: f 2^31 < 2^31 has at most 22 fraction bits
    if q == 1 << 31:
        q //= 2
        e += 1
    if e < -31:
        return (0, 0)
    return (q, 31 - e)


def same_value(a, b):
    """Equal real values m 2^-s (exact integer comparison; (0, 0) is zero)."""
    (ma, sa), (mb, sb) = (int(a[0]), int(a[1])), (int(b[0]), int(b[1]))
    if ma == 0 or mb == 0:
        return ma == mb
    if sa >= sb:
        return ma == mb << (sa - sb)
    return ma << (sb - sa) == mb


def conv_multiplier(s_x, s_w, s_y):
    return quantize_multiplier(float(np.float32(s_x)) * float(np.float32(s_w)) / float(np.float32(s_y)))


def add_multipliers(s_a, s_b, s_y):
    a, b, y = np.float32(s_a), np.float32(s_b), np.float32(s_y)
    t = float(np.float32(2) * max(a, b))
    return (quantize_multiplier(float(a) / t), quantize_multiplier(float(b) / t),
            quantize_multiplier(t / float(np.float32(1 << 20) * y)))


def mean_multiplier(s_x, s_y, n):
    """The reference MEAN's effective multiplier for n = H*W elements, as (m, s)."""
    q, s = quantize_multiplier(float(np.float32(s_x)) / float(np.float32(s_y)))
    if q == 0:
        return (0, 0)
    e = 31 - s
    sh = min(n.bit_length() - 1, 32, 31 + e)
    return ((q << sh) // n, s + sh)


def relu6_max(s_y, z_y):
    t = np.float32(6.0) / np.float32(s_y)
    r = math.floor(float(t) + 0.5) if t >= 0 else -math.floor(-float(t) + 0.5)
    return min(127, z_y + int(r))
