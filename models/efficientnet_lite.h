// efficientnet_lite.h — the EfficientNet-Lite family (float32, NHWC) as a block table and a flat layer list.
//
// Architecture (mirrors efficientnet-lite-pytorch 0.1.0, which mirrors TF efficientnet_lite_builder.py):
//   stem   conv 3x3 s2 (3 -> 32) -> BN -> ReLU6
//   blocks MBConv, per block: [expand conv 1x1 -> BN -> ReLU6] (only if expand != 1)
//                             -> depthwise kxk stride s -> BN -> ReLU6 -> project conv 1x1 -> BN
//                             -> [drop-connect -> + block input] (only if stride == 1 and in == out)
//          no squeeze-excite, no conv biases
//   head   conv 1x1 (-> 1280) -> BN -> ReLU6 -> global average pool -> dropout -> linear (+ bias)
//   BN eps 1e-3, momentum 0.01 (PyTorch convention; TF 0.99). ReLU6 = min(max(x, 0), 6).
//   Padding is TensorFlow "SAME": out = ceil(in / stride), total pad = max((out-1)*s + k - in, 0), pad_top =
//   total / 2, the extra row/column at the bottom/right (ratq_same_padding in kernels/math/conv_geometry.h).
//   Drop-connect rate of block b (0-based, of B blocks in total) = drop_connect * b / B (block 0: none).
//
// lite0 base table (repeats, kernel, stride, expand, in, out):
//   r1_k3_s11_e1_i32_o16, r2_k3_s22_e6_i16_o24, r2_k5_s22_e6_i24_o40, r3_k3_s22_e6_i40_o80,
//   r3_k5_s11_e6_i80_o112, r4_k5_s22_e6_i112_o192, r1_k3_s11_e6_i192_o320; stem 32, head 1280.
// lite1..lite4 (width, depth, resolution, dropout): (1.0,1.1,240,0.2) (1.1,1.2,260,0.3) (1.2,1.4,280,0.3)
//   (1.4,1.8,300,0.3). Channels c -> round_filters(c) = max(8, floor((c*w + 4) / 8) * 8), + 8 if that is below
//   0.9*c*w; repeats r -> ceil(r*d); the stem (32), the head (1280), the first stage's input (32) and the first
//   and last stages' repeats are NOT scaled (fix_head_stem).
// "tiny" (tests): resolution 16, 10 classes, stem 8, head 320, stages r1_k3_s11_e1_i8_o16, r2_k3_s22_e3_i16_o16,
//   r2_k5_s22_e3_i16_o24 (= the reference model with width 0.25 and fix_head_stem off; scripts/make_goldens.py).
// Residuals follow TF: every block with stride 1 and in == out adds its input. (The PyTorch reference misses
// that residual on a stage's first block; no lite0..lite4 or tiny first block has in == out, so they agree.)
//
// Parameters are one allocation carved by the tensor table (llm.c style); tensors keep the PyTorch
// state_dict names and order, so a .ratqw file maps one to one (models/weights.h). Input preprocessing for the
// pretrained weights: x = (rgb - 127) / 128 (ratq_effnet_preprocess_u8).
#ifndef RATQ_MODELS_EFFICIENTNET_LITE_H
#define RATQ_MODELS_EFFICIENTNET_LITE_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/float_ops.h"

#define RATQ_EFFNET_MAX_STAGES 8
// Float activations kept per image (every layer's output buffer, what ratq_effnet_reserve allocates per image)
// are at most this many bytes: 256 MiB (lite0 at 224 needs ~30 MiB, lite4 at 300 ~150 MiB). A config above it
// (e.g. a weight file whose resolution field was raised to 8192) is refused when the model is built or loaded.
#define RATQ_EFFNET_MAX_ACT_BYTES ((size_t)1 << 28)
#define RATQ_EFFNET_STREAM_DROPOUT 1u          // RNG stream of the classifier dropout (index = n*C + c)
#define RATQ_EFFNET_STREAM_DROP_CONNECT 1000u  // + block index; index = sample n

typedef struct {
    int repeats;   // blocks in the stage (the first may have stride > 1 and in != out; the rest stride 1, out->out)
    int kernel;    // depthwise kernel size k (k x k)
    int stride;    // stride of the first block
    int expand;    // expansion ratio e: hidden channels = in * e
    int in_ch;     // input channels of the first block
    int out_ch;    // output channels
} ratq_mbconv_stage;

typedef struct {
    char arch[32];    // "lite0".."lite4", "tiny"
    int resolution;   // input H = W
    int num_classes;
    int stem_ch;      // stem conv output channels
    int head_ch;      // head conv output channels
    int n_stages;
    ratq_mbconv_stage stages[RATQ_EFFNET_MAX_STAGES]; // resolved (already width/depth scaled)
    float bn_eps;       // 1e-3
    float bn_momentum;  // PyTorch convention, 0.01
    float dropout;      // before the classifier
    float drop_connect; // base drop-connect rate
} ratq_effnet_config;

// Fill cfg for an architecture name ("lite0".."lite4", "tiny"; "efficientnet-lite0" is accepted too).
// num_classes / resolution 0 = the architecture's default (1000 / 224..300; tiny: 10 / 16).
// Returns 0, or -1 after one error line.
int ratq_effnet_config_from_name(const char *name, int num_classes, int resolution, ratq_effnet_config *cfg);

typedef enum {
    RATQ_LAYER_CONV = 0,     // conv2d, OHWI weight w, no bias. stem/expand/project/head
    RATQ_LAYER_DWCONV,       // depthwise conv, weight [kh][kw][c], no bias
    RATQ_LAYER_BN,           // batch norm: w = gamma, b = beta, mean/var = running statistics
    RATQ_LAYER_RELU6,        // in place on its input buffer
    RATQ_LAYER_DROP_CONNECT, // per-sample drop of the residual branch (training only), in place
    RATQ_LAYER_ADD,          // residual add: out = in + in2, in place on in's buffer
    RATQ_LAYER_GAP,          // global average pool [n][h][w][c] -> [n][c]
    RATQ_LAYER_DROPOUT,      // dropout (training only), in place
    RATQ_LAYER_FC,           // linear w[out][in] + b[out]
} ratq_layer_kind;

const char *ratq_layer_kind_name(ratq_layer_kind k);

// One entry of the flat layer list. Activations are NHWC; layer l reads the output of layer `in` (-1 = the
// network input) and writes its own output (in place for RELU6, DROP_CONNECT, ADD, DROPOUT: buf == the input's).
typedef struct {
    ratq_layer_kind kind;
    char name[64];        // weight-name prefix ("_blocks.3._bn1"), or a description for parameter-free layers
    int block;            // MBConv block index, -1 for stem / head
    int in;               // producing layer of the input (-1 = network input)
    int in2;              // ADD: producing layer of the skip input (-1 = network input); else -2
    int h, w, c;          // input geometry (per image)
    int oh, ow, oc;       // output geometry (per image; GAP/FC: oh = ow = 1)
    int buf;              // activation buffer holding the output
    int w_t, b_t;         // parameter tensors (index into ratq_effnet.tensors) or -1: weight / gamma, bias / beta
    int mean_t, var_t;    // BN running statistics tensors, else -1
    ratq_conv2d_params conv; // CONV / DWCONV geometry (n is set per call)
    float drop_prob;      // DROP_CONNECT / DROPOUT
    uint64_t stream;      // RNG stream: DROP_CONNECT of block b: RATQ_EFFNET_STREAM_DROP_CONNECT + b; DROPOUT:
                          // RATQ_EFFNET_STREAM_DROPOUT (masks: float_ops.h ratq_rng_u01 with m->seed, step)
    size_t bn_save;       // BN: offset of save_mean[c], save_invstd[c] in ratq_effnet.bn_save
    int fold_bn;          // CONV / DWCONV: the BN layer reading this output (-1 none), folded in RATQ_EFFNET_INFER
    size_t fold_w, fold_b; // CONV / DWCONV with fold_bn: offsets of the folded weight / bias in ratq_effnet.fold
} ratq_layer;

// Forward modes.
//   RATQ_EFFNET_EVAL  : running-statistics BN as its own layer, no dropout (the reference semantics; backward ok)
//   RATQ_EFFNET_TRAIN : batch-statistics BN (updates running statistics), dropout and drop-connect
//   RATQ_EFFNET_INFER : as EVAL, but each BN is folded into the conv before it (ratq_bn_fold_*: w' = w*s,
//                       b' = beta - mean*s, s = gamma/sqrt(var+eps), refolded from the current parameters at every
//                       call) and the conv writes the BN's output: fewer passes over memory; same function up to
//                       float rounding; no backward.
enum { RATQ_EFFNET_EVAL = 0, RATQ_EFFNET_TRAIN = 1, RATQ_EFFNET_INFER = 2 };

typedef struct {
    char name[64];  // PyTorch state_dict name
    int ndim;
    int shape[4];   // conv [oc][kh][kw][ic], dw [kh][kw][c], fc [out][in], vectors [c]
    size_t count;
    size_t offset;  // into params / grads (floats)
    int trainable;  // 1 = parameter (has a gradient), 0 = BN running statistic (buffer)
} ratq_tensor_info;

typedef struct {
    ratq_effnet_config cfg;
    // tensor table and the one allocation it carves
    int n_tensors;
    ratq_tensor_info *tensors; // [n_tensors], state_dict order
    size_t n_floats;           // sum of counts
    float *params;             // [n_floats] all tensors (parameters and BN running statistics)
    float *grads;              // [n_floats] gradients (entries of running statistics stay 0)
    // layers
    int n_layers;
    ratq_layer *layers;        // [n_layers]
    int logits_layer;          // the FC layer
    // activations for `batch` images: buffer b is acts + buf_offset[b], buf_size[b] floats per image * batch
    int n_bufs;
    size_t *buf_floats;        // [n_bufs] floats per image
    int batch;                 // images the buffers are allocated for (0 = none yet)
    float *acts;               // [batch * sum buf_floats]
    float *dacts;              // same layout: gradients of the activations (allocated by the first backward)
    float **buf;               // [n_bufs] pointers into acts
    float **dbuf;              // [n_bufs] pointers into dacts
    float *scratch;            // [batch * max buf_floats] backward: dx before accumulation into a residual
    float *ws;                 // conv workspace [ws_floats]
    size_t ws_floats;
    float *bn_save;            // [sum over BN of 2*c]: save_mean, save_invstd of the last training forward
    size_t bn_save_floats;
    float *fold;               // [fold_floats] BN-folded conv weights and biases (RATQ_EFFNET_INFER), lazily allocated
    size_t fold_floats;
    int last_n;                // images in the last forward
    int last_train;            // mode of the last forward (RATQ_EFFNET_EVAL / TRAIN / INFER)
    uint64_t last_step;        // step of the last forward (dropout masks)
    const float *last_x;       // input of the last forward: the caller keeps it alive until backward
    uint64_t seed;             // dropout / drop-connect seed
    char source[512];          // the weight file it was loaded from (error lines), "" when built in memory
} ratq_effnet;

// Build the layer list and tensor table for cfg; parameters zeroed (BN gamma = 1, running_var = 1).
// Returns 0, or -1 after one error line (bad config / out of memory).
int ratq_effnet_build(ratq_effnet *m, const ratq_effnet_config *cfg);
void ratq_effnet_free(ratq_effnet *m);

// Build from a .ratqw file: architecture / classes / resolution from its header, then every tensor is looked
// up by name and its shape checked. Missing, extra or mis-shaped tensors are errors. Returns 0 or -1.
int ratq_effnet_load(ratq_effnet *m, const char *path);
// Copy weights from a file into an already built model (same checks, plus arch / classes must match).
int ratq_effnet_load_into(ratq_effnet *m, const char *path);
// Write all tensors (atomic). Returns 0 or -1.
int ratq_effnet_save(const ratq_effnet *m, const char *path);

// Index of the tensor with this name, or -1.
int ratq_effnet_find_tensor(const ratq_effnet *m, const char *name);

// (Re)allocate activation buffers for up to `batch` images. Returns 0 or -1 (out of memory).
int ratq_effnet_reserve(ratq_effnet *m, int batch);

// Forward n images x[n][res][res][3] (already preprocessed). mode (see above) RATQ_EFFNET_TRAIN (1): BN uses
// batch statistics and updates the running statistics, dropout and drop-connect draw masks from (m->seed,
// stream, step); RATQ_EFFNET_EVAL (0): running statistics, no dropout; RATQ_EFFNET_INFER (2): EVAL with BN
// folded into the convs. TRAIN and EVAL keep every activation the backward needs. INFER (evaluation) checks every
// layer's output: a NaN or Inf (parameters that overflow float; a later ReLU6 would hide it) is an error naming
// the layer and m->source. Returns the logits [n][num_classes] (inside m->acts, valid until the next forward),
// or NULL after an error line.
const float *ratq_effnet_forward(ratq_effnet *m, const float *x, int n, int mode, uint64_t step);

// Backward of the last forward (TRAIN or EVAL) given dlogits [n][num_classes]: OVERWRITES m->grads for every
// parameter. Returns 0 or -1 (out of memory, or the last forward was INFER).
int ratq_effnet_backward(ratq_effnet *m, const float *dlogits);

// x = (u8 - 127) / 128, the preprocessing of the pretrained EfficientNet-Lite weights, for count values.
void ratq_effnet_preprocess_u8(const uint8_t *src, size_t count, float *dst);

#endif
