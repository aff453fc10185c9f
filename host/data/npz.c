// host/data/npz.c — read members of a NumPy .npz (a zip of .npy files) straight from a mapped file.
// Zip: end-of-central-directory (+ zip64 records) -> central directory entries (method 0 stored / 8 deflate,
// sizes, local header offset; zip64 extra field 0x0001) -> local header -> member bytes; CRC-32 checked.
// .npy: "\x93NUMPY", version 1 (uint16 header length) or 2/3 (uint32), then a Python dict literal
// {'descr': '<i8', 'fortran_order': False, 'shape': (N, ...), } padded with spaces and '\n'.
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data/internal.h"
#include "common/io.h"

int data_map_open(data_map *m, const char *path) {
    m->data = NULL;
    m->size = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        ratq_error("%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ratq_error("%s: not a regular file", path);
        close(fd);
        return -1;
    }
    if (st.st_size == 0) {
        ratq_error("%s: file: empty", path);
        close(fd);
        return -1;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        ratq_error("%s: cannot map: %s", path, strerror(errno));
        return -1;
    }
    m->data = p;
    m->size = (size_t)st.st_size;
    return 0;
}

void data_map_close(data_map *m) {
    if (m->data) munmap((void *)m->data, m->size);
    m->data = NULL;
    m->size = 0;
}

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

void data_npy_free(data_npy *a) {
    free(a->owned);
    memset(a, 0, sizeof *a);
}

// Parse the .npy header of a member of `size` bytes; fills dtype/ndim/shape/data/nbytes.
static int parse_npy(const uint8_t *p, size_t size, const char *path, const char *member, data_npy *out) {
    if (size < 10 || memcmp(p, "\x93NUMPY", 6) != 0) {
        ratq_error("%s: %s: magic: not a .npy member", path, member);
        return -1;
    }
    size_t hlen, hoff;
    if (p[6] == 1) {
        hlen = rd16(p + 8);
        hoff = 10;
    } else if (p[6] == 2 || p[6] == 3) {
        if (size < 12) {
            ratq_error("%s: %s: header: truncated", path, member);
            return -1;
        }
        hlen = rd32(p + 8);
        hoff = 12;
    } else {
        ratq_error("%s: %s: version: unsupported .npy version %u", path, member, p[6]);
        return -1;
    }
    if (hoff + hlen > size || hlen > 65536) {
        ratq_error("%s: %s: header: length %zu beyond the member (%zu bytes)", path, member, hlen, size);
        return -1;
    }
    char hdr[65537];
    memcpy(hdr, p + hoff, hlen);
    hdr[hlen] = 0;
    // descr
    const char *d = strstr(hdr, "'descr':");
    const char *q1 = d ? strchr(d + 8, '\'') : NULL;
    const char *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
    if (!q2 || (size_t)(q2 - q1 - 1) >= sizeof out->dtype) {
        ratq_error("%s: %s: descr: missing or not a simple dtype", path, member);
        return -1;
    }
    memcpy(out->dtype, q1 + 1, (size_t)(q2 - q1 - 1));
    out->dtype[q2 - q1 - 1] = 0;
    const char *fo = strstr(hdr, "'fortran_order':");
    if (!fo) {
        ratq_error("%s: %s: fortran_order: missing", path, member);
        return -1;
    }
    fo += 16;
    while (*fo == ' ') fo++;
    if (strncmp(fo, "False", 5) != 0) {
        ratq_error("%s: %s: fortran_order: only C order is supported", path, member);
        return -1;
    }
    const char *s = strstr(hdr, "'shape':");
    s = s ? strchr(s, '(') : NULL;
    if (!s) {
        ratq_error("%s: %s: shape: missing", path, member);
        return -1;
    }
    s++;
    out->ndim = 0;
    for (;;) {
        while (*s == ' ' || *s == ',') s++;
        if (*s == ')') break;
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (end == s || errno || v < 0 || out->ndim == 8) {
            ratq_error("%s: %s: shape: malformed", path, member);
            return -1;
        }
        out->shape[out->ndim++] = v;
        s = end;
    }
    size_t itemsize = strlen(out->dtype) >= 3 ? (size_t)atoi(out->dtype + 2) : 0; // "<i8" -> 8
    if (itemsize == 0 || itemsize > 16) {
        ratq_error("%s: %s: descr: unsupported dtype '%s'", path, member, out->dtype);
        return -1;
    }
    size_t n = 1;
    for (int i = 0; i < out->ndim; i++) {
        if (out->shape[i] != 0 && n > (SIZE_MAX / 16) / (size_t)out->shape[i]) {
            ratq_error("%s: %s: shape: too large", path, member);
            return -1;
        }
        n *= (size_t)out->shape[i];
    }
    out->nbytes = n * itemsize;
    if (hoff + hlen + out->nbytes != size) {
        ratq_error("%s: %s: shape: %zu data bytes expected, member holds %zu", path, member, out->nbytes,
                   size - hoff - hlen);
        return -1;
    }
    out->data = p + hoff + hlen;
    return 0;
}

int data_npz_load(const data_map *zip, const char *path, const char *name, data_npy *out) {
    memset(out, 0, sizeof *out);
    const uint8_t *z = zip->data;
    size_t zs = zip->size;
    // End of central directory: last occurrence of PK\5\6 within the final 64 KiB + 22 bytes.
    size_t eocd = SIZE_MAX;
    if (zs >= 22)
        for (size_t i = zs - 22 + 1; i-- > 0 && zs - i <= 65535 + 22;)
            if (rd32(z + i) == 0x06054b50u) {
                eocd = i;
                break;
            }
    if (eocd == SIZE_MAX) {
        ratq_error("%s: zip: end of central directory not found (not an .npz?)", path);
        return -1;
    }
    uint64_t nent = rd16(z + eocd + 10), cd_size = rd32(z + eocd + 12), cd_off = rd32(z + eocd + 16);
    if ((nent == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu) && eocd >= 20 &&
        rd32(z + eocd - 20) == 0x07064b50u) {
        uint64_t z64 = rd64(z + eocd - 20 + 8);
        if (z64 + 56 > zs || rd32(z + z64) != 0x06064b50u) {
            ratq_error("%s: zip: bad zip64 end of central directory", path);
            return -1;
        }
        nent = rd64(z + z64 + 32);
        cd_size = rd64(z + z64 + 40);
        cd_off = rd64(z + z64 + 48);
    }
    if (cd_off > zs || cd_size > zs - cd_off) {
        ratq_error("%s: zip: central directory beyond the end of the file (truncated?)", path);
        return -1;
    }
    char want[256];
    snprintf(want, sizeof want, "%s.npy", name);
    size_t wl = strlen(want);
    const uint8_t *e = z + cd_off, *cd_end = z + cd_off + cd_size;
    for (uint64_t k = 0; k < nent; k++) {
        if (e + 46 > cd_end || rd32(e) != 0x02014b50u) {
            ratq_error("%s: zip: central directory entry %llu malformed", path, (unsigned long long)k);
            return -1;
        }
        uint32_t method = rd16(e + 10), crc = rd32(e + 16);
        uint64_t csize = rd32(e + 20), usize = rd32(e + 24), loff = rd32(e + 42);
        uint32_t nl = rd16(e + 28), xl = rd16(e + 30), cl = rd16(e + 32);
        if (e + 46 + nl + xl + cl > cd_end) {
            ratq_error("%s: zip: central directory entry %llu truncated", path, (unsigned long long)k);
            return -1;
        }
        const uint8_t *nm = e + 46;
        if (nl == wl && memcmp(nm, want, wl) == 0) {
            // zip64 extra: the 0xffffffff fields, in the order usize, csize, loff.
            for (const uint8_t *x = nm + nl; x + 4 <= nm + nl + xl;) {
                uint32_t id = rd16(x), len = rd16(x + 2);
                const uint8_t *v = x + 4, *vend = x + 4 + len;
                if (vend > nm + nl + xl) break;
                if (id == 1) {
                    if (usize == 0xffffffffu && v + 8 <= vend) usize = rd64(v), v += 8;
                    if (csize == 0xffffffffu && v + 8 <= vend) csize = rd64(v), v += 8;
                    if (loff == 0xffffffffu && v + 8 <= vend) loff = rd64(v), v += 8;
                }
                x = vend;
            }
            if (loff > zs || zs - loff < 30 || rd32(z + loff) != 0x04034b50u) {
                ratq_error("%s: %s: zip local header missing or beyond the file", path, want);
                return -1;
            }
            uint64_t doff = loff + 30 + rd16(z + loff + 26) + rd16(z + loff + 28);
            if (doff > zs || csize > zs - doff) {
                ratq_error("%s: %s: compressed data beyond the end of the file (truncated?)", path, want);
                return -1;
            }
            const uint8_t *src = z + doff;
            const uint8_t *mem;
            if (method == 0) {
                if (csize != usize) {
                    ratq_error("%s: %s: stored member sizes differ", path, want);
                    return -1;
                }
                mem = src;
            } else if (method == 8) {
                uint8_t *buf = malloc(usize ? usize : 1);
                if (!buf) {
                    ratq_error("%s: %s: out of memory (%llu bytes)", path, want, (unsigned long long)usize);
                    return -1;
                }
                z_stream zs_ = {0};
                if (inflateInit2(&zs_, -MAX_WBITS) != Z_OK) {
                    free(buf);
                    ratq_error("%s: %s: zlib init failed", path, want);
                    return -1;
                }
                uint64_t in_done = 0, out_done = 0;
                int rc = Z_OK;
                while (rc == Z_OK) { // feed in chunks < 4 GiB (zlib counts are 32-bit)
                    uint64_t in_left = csize - in_done, out_left = usize - out_done;
                    zs_.next_in = (Bytef *)(src + in_done);
                    zs_.avail_in = (uInt)(in_left > (1u << 30) ? (1u << 30) : in_left);
                    zs_.next_out = buf + out_done;
                    zs_.avail_out = (uInt)(out_left > (1u << 30) ? (1u << 30) : out_left);
                    uInt ai = zs_.avail_in, ao = zs_.avail_out;
                    rc = inflate(&zs_, Z_NO_FLUSH);
                    in_done += ai - zs_.avail_in;
                    out_done += ao - zs_.avail_out;
                    if (rc == Z_OK && ai == zs_.avail_in && ao == zs_.avail_out) break; // no progress
                }
                inflateEnd(&zs_);
                if (rc != Z_STREAM_END || out_done != usize) {
                    free(buf);
                    ratq_error("%s: %s: deflate data corrupt or truncated", path, want);
                    return -1;
                }
                out->owned = buf;
                mem = buf;
            } else {
                ratq_error("%s: %s: zip compression method %u unsupported (only stored/deflate)", path, want,
                           method);
                return -1;
            }
            uLong c = crc32(0L, Z_NULL, 0);
            for (uint64_t o = 0; o < usize; o += (1u << 30)) {
                uint64_t len = usize - o > (1u << 30) ? (1u << 30) : usize - o;
                c = crc32(c, mem + o, (uInt)len);
            }
            if ((uint32_t)c != crc) {
                ratq_error("%s: %s: CRC-32 mismatch (corrupt file)", path, want);
                data_npy_free(out);
                return -1;
            }
            if (parse_npy(mem, usize, path, want, out) != 0) {
                data_npy_free(out);
                return -1;
            }
            return 1;
        }
        e += 46 + nl + xl + cl;
    }
    return 0;
}
