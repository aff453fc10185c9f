// test_data_errors.c — bad or mismatched files: ratq_data_open / ratq_data_read return an error and print exactly
// one line that names the file and the field; `ratq data-info` exits with 2 and prints the same kind of line.
// Usage: test_data_errors PATH_TO_RATQ
#include "cpu/test_data_util.h" // first: defines _POSIX_C_SOURCE

#include <fcntl.h>
#include <sys/wait.h>
#include <zlib.h>

#include "common/io.h"

static char g_dir[2048], g_err[2100];

// Run open (and, if open succeeds and read_index >= 0, read) with stderr captured; return the captured text.
static char *capture_open(const char *path, const ratq_data_options *opt, int64_t read_index, int *failed) {
    static char buf[8192];
    fflush(stderr);
    int saved = dup(2), fd = open(g_err, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    dup2(fd, 2);
    close(fd);
    ratq_dataset *ds = ratq_data_open(path, opt);
    *failed = ds == NULL;
    if (ds && read_index >= 0) {
        ratq_image img = {0};
        *failed = ratq_data_read(ds, read_index, &img) != 0;
        ratq_image_free(&img);
    }
    ratq_data_close(ds);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fopen(g_err, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = 0;
    return buf;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

// Expect failure with one line containing `path` and `field`.
static void expect_error(const char *what, const char *path, const char *field, const ratq_data_options *opt,
                         int64_t read_index) {
    int failed;
    char *msg = capture_open(path, opt, read_index, &failed);
    CHECK(failed, "%s: no error returned", what);
    CHECK(count_lines(msg) == 1 && strstr(msg, path) && strstr(msg, field),
          "%s: expected one line naming '%s' and '%s', got:\n%s", what, path, field, msg);
}

enum { N = 6, H = 4, W = 5, C = 3 };

static void put_file(const char *name, const uint8_t *p, size_t n, char *path) {
    snprintf(path, 4096, "%s/%s", g_dir, name);
    if (write_bytes(path, p, n) != 0) {
        perror(path);
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_data_errors PATH_TO_RATQ\n");
        return 1;
    }
    snprintf(g_dir, sizeof g_dir, "%s", make_tmpdir());
    snprintf(g_err, sizeof g_err, "%s/stderr.txt", g_dir);
    int64_t labels[N] = {0, 1, 2, 3, 4, 9};
    uint8_t pix[N * H * W * C];
    for (size_t i = 0; i < sizeof pix; i++) pix[i] = (uint8_t)(i * 7);
    size_t sz;
    uint8_t *good = build_shard(&sz, RATQ_SHARD_RAW, N, H, W, C, 10, labels, NULL, pix, sizeof pix);
    uint8_t *b = malloc(sz + 16);
    char path[4096];
    // The valid shard opens without a message.
    put_file("good.rqshard", good, sz, path);
    int failed;
    char *msg = capture_open(path, NULL, 0, &failed);
    CHECK(!failed && msg[0] == 0, "valid shard: failed %d, message '%s'", failed, msg);
    // Field corruptions: {byte offset, new little-endian value, width, field named in the error}.
    struct {
        const char *name;
        size_t off;
        uint64_t val;
        int width;
        const char *field;
    } cases[] = {
        {"magic", 0, 0x58, 1, "magic"},
        {"version", 8, 2, 4, "version"},
        {"encoding", 12, 7, 4, "encoding"},
        {"count0", 16, 0, 8, "count"},
        {"channels", 32, 2, 4, "channels"},
        {"num_classes0", 36, 0, 4, "num_classes"},
        {"height0", 24, 0, 4, "height/width"},
        {"labels_misaligned", 40, 132, 8, "labels_off"},
        {"index_for_raw", 48, 128, 8, "index_off"},
        {"data_beyond", 56, 1 << 20, 8, "data_off"},
        {"data_size", 64, N * H * W * C - 1, 8, "data_size"},
        {"reserved", 100, 1, 1, "reserved"},
        {"label_range", 128 + 8 * 5, 10, 8, "labels"},
        {"label_negative", 128 + 8 * 2, (uint64_t)-1, 8, "labels"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        memcpy(b, good, sz);
        for (int i = 0; i < cases[k].width; i++) b[cases[k].off + i] = (uint8_t)(cases[k].val >> (8 * i));
        char name[64];
        snprintf(name, sizeof name, "%s.rqshard", cases[k].name);
        put_file(name, b, sz, path);
        expect_error(cases[k].name, path, cases[k].field, NULL, -1);
    }
    // Truncated and extended files.
    put_file("truncated.rqshard", good, sz - 10, path);
    expect_error("truncated", path, "file_size", NULL, -1);
    memcpy(b, good, sz);
    b[sz] = 0;
    put_file("appended.rqshard", b, sz + 1, path);
    expect_error("appended", path, "file_size", NULL, -1);
    put_file("short.rqshard", good, 60, path);
    expect_error("shorter than the header", path, "header", NULL, -1);
    put_file("empty.rqshard", good, 0, path);
    expect_error("empty", path, "file", NULL, -1);
    snprintf(path, sizeof path, "%s/missing.rqshard", g_dir);
    expect_error("missing", path, "cannot open", NULL, -1);
    // JPEG shard: bad offset tables, and a corrupt JPEG that fails only when read.
    static const uint8_t fake[40] = {0xff, 0xd8, 0xff, 0xe0, 1, 2, 3};
    int64_t offs[N + 1] = {0, 5, 10, 15, 20, 30, 40};
    free(good);
    good = build_shard(&sz, RATQ_SHARD_JPEG, N, 0, 0, 3, 10, labels, offs, fake, sizeof fake);
    int64_t bad1[N + 1] = {0, 5, 4, 15, 20, 30, 40}, bad2[N + 1] = {0, 5, 10, 15, 20, 30, 39};
    uint8_t *j1 = build_shard(&sz, RATQ_SHARD_JPEG, N, 0, 0, 3, 10, labels, bad1, fake, sizeof fake);
    put_file("jpeg_decreasing.rqshard", j1, sz, path);
    expect_error("offsets decrease", path, "index", NULL, -1);
    free(j1);
    j1 = build_shard(&sz, RATQ_SHARD_JPEG, N, 0, 0, 3, 10, labels, bad2, fake, sizeof fake);
    put_file("jpeg_end.rqshard", j1, sz, path);
    expect_error("offsets end", path, "index", NULL, -1);
    free(j1);
    put_file("jpeg_corrupt.rqshard", good, sz, path);
    expect_error("corrupt jpeg (read)", path, "jpeg", NULL, 3);
    // npz: truncated, and a flipped byte inside the deflated jpeg_bytes member.
    size_t nz;
    char *z = ratq_read_file(shared_path("cifar10/test_jpeg.npz"), &nz);
    if (!z) return 1;
    put_file("trunc.npz", (uint8_t *)z, 1 << 20, path);
    expect_error("npz truncated", path, "zip", NULL, -1);
    z[200000] ^= 0x55;
    put_file("flipped.npz", (uint8_t *)z, nz, path);
    expect_error("npz corrupt member", path, "jpeg_bytes.npy", NULL, -1);
    free(z);
    put_file("junk.bin", (const uint8_t *)"hello world, not data", 21, path);
    expect_error("unknown file", path, "magic", NULL, -1);
    // IDX with the wrong magic.
    snprintf(path, sizeof path, "%s/bad-images-idx3-ubyte.gz", g_dir);
    gzFile g = gzopen(path, "wb");
    static const uint8_t idx[16] = {0, 0, 8, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2};
    gzwrite(g, idx, sizeof idx);
    gzclose(g);
    expect_error("idx magic", path, "magic", NULL, -1);
    // JPEG tree whose folder is not in the classes file.
    char tree[4096], cls[4096];
    snprintf(tree, sizeof tree, "%s/tree", g_dir);
    mkdir(tree, 0755);
    snprintf(path, sizeof path, "%s/tree/n999", g_dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/tree/n999/a.jpg", g_dir);
    write_bytes(path, fake, sizeof fake);
    snprintf(cls, sizeof cls, "%s/classes.txt", g_dir);
    write_bytes(cls, "n001 x\nn002 y\n", 14);
    ratq_data_options opt = {cls};
    expect_error("classes file", tree, "classes", &opt, -1);
    // The command: exit code 2 and one line naming file and field.
    struct {
        const char *file, *extra, *field;
    } cmd[] = {{"version.rqshard", "", "version"}, {"truncated.rqshard", "", "file_size"},
               {"label_range.rqshard", "", "labels"}, {"jpeg_corrupt.rqshard", "--verify --workers 2 --size 8", "jpeg"}};
    for (int k = 0; k < 4; k++) {
        char line[16384], fpath[4096];
        snprintf(fpath, sizeof fpath, "%s/%s", g_dir, cmd[k].file);
        snprintf(line, sizeof line, "'%s' data-info '%s' %s >/dev/null 2>'%s'", argv[1], fpath, cmd[k].extra, g_err);
        int st = system(line);
        FILE *f = fopen(g_err, "r");
        char out[8192] = {0};
        if (f) {
            size_t n = fread(out, 1, sizeof out - 1, f);
            out[n] = 0;
            fclose(f);
        }
        int lines = count_lines(out);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2, "ratq data-info %s: exit status %d, expected 2", cmd[k].file,
              WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        CHECK(strstr(out, cmd[k].file) && strstr(out, cmd[k].field) && lines == 1,
              "ratq data-info %s: stderr was:\n%s", cmd[k].file, out);
    }
    free(good);
    free(b);
    rm_tree(g_dir);
    if (!g_fail) printf("ok: every bad file gives one error line naming file and field; the command exits 2\n");
    return g_fail;
}
