// run.h — `ratq run`: the whole pipeline in one command (host/cli/cmd_run.c stages, host/cli/run_report.c report).
//
// Output folder DIR, one artifact per stage (written atomically; a stage whose artifact exists is skipped, so
// a rerun continues where a previous one stopped and a stage reruns alone after its artifact is deleted):
//   float.ratqw, float.json       a. float network (trained from scratch, or --weights) and its accuracy
//   int8_k31.ratqm, int8_k31.json b. calibration + int8 with 31-bit rescalers, post-training
//   qat_k31.ratqm, qat_k31.json      int8 quantization-aware training with 31-bit rescalers (the RAT training at
//                                    k = 31, same data / steps / teacher): the "32-bit" baseline
//   sweep.json                    c. post-training accuracy for every k of --bits, without and with snapping
//   rat_k<K>[_snap].ratqm/.json   d. Rescale-Aware Training at every k of --rat-bits, without / with snapping
//   rat.json                         (all RAT rows together)
//   export_c_k<K>/, export_c.json e. standalone C export of the RAT model at the first --rat-bits k (no snap),
//                                    built with make + cc, run on test images, predictions compared with the engine
//   hw.json                       f. `ratq hw --json` table (rescaler alone N = 0, dot-product units N = 4, 8, 16)
//                                    or {"skipped": reason} when no Liberty library is found
//   report.md, *.png, run.json    g. the report (always rewritten), plots by scripts/plot_report.py (matplotlib)
// Several ranks (`mpirun -np N ratq run ...` or RATQ_RANK/RATQ_WORLD_SIZE/RATQ_MASTER_*, host/dist/dist.h): the QAT and RAT
// stages train data-parallel on every rank (batch 32 per rank, evaluation sharded, host/train/rat_train.h); rank 0 alone runs
// the other stages and writes every artifact while the others wait (no deadline), so DIR must be on a filesystem
// every rank sees.
// Accuracies are top-1 / top-5 on the first `test_images` images of the validation set, all models on the same
// images; integer models are evaluated by the CPU integer engine (ratq_qmodel_run) except the k sweep, which uses
// the bit-identical fake-quant forward (tests/cpu/test_quant_exact.c).
#ifndef RATQ_HOST_RUN_H
#define RATQ_HOST_RUN_H

#include <stdint.h>

#define RATQ_RUN_MAX_K 32

typedef struct {
    char dir[4096];
    const char *model;    // "tiny" | "efficientnet-lite0"
    const char *weights;  // float weights instead of training (NULL = train from scratch)
    char train[4096], val[4096];
    const char *liberty;  // NULL = search
    int quick, json, progress;
    int ks[RATQ_RUN_MAX_K], nk;         // post-training sweep
    int rat_ks[RATQ_RUN_MAX_K], n_rat;  // RAT
    int hw_macs[8], n_hw_macs;
    int64_t train_images, test_images, calib_images, rat_images;
    int epochs, rat_epochs, batch, export_images;
    double float_lr, rat_lr;
    char exe_dir[4096]; // folder of the running ratq executable
    struct ratq_dist *dist; // data-parallel group (host/dist/dist.h); world 1 when started alone
    int rank, world;
    int device, gpu;        // QAT / RAT steps: ratq_train_device (host/train/rat_train.h) on CUDA device `gpu`
} ratq_run_ctx;

// Write report.md (and run the plot script) from the artifacts in ctx->dir; prints the one-screen summary on
// stdout (or one JSON line with --json). Returns 0 or -1 after an error line.
int ratq_run_report(const ratq_run_ctx *ctx, double total_seconds);

// Read DIR/name as JSON (NULL if absent or invalid; no error line when absent).
struct cJSON;
struct cJSON *ratq_run_read_json(const char *dir, const char *name);
// Write a cJSON object to DIR/name atomically (the object is deleted). Returns 0 or -1.
int ratq_run_write_json(const char *dir, const char *name, struct cJSON *j);

#endif
