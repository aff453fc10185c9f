// io.h — file helpers shared by every artifact reader/writer.
// Errors are one line on stderr: "ratq: <file>: <field>: <what>" (see ratq_error).
#ifndef RATQ_HOST_IO_H
#define RATQ_HOST_IO_H

#include <stddef.h>
#include <stdio.h>

// Print "ratq: " + formatted message + newline to stderr.
void ratq_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// A prefix for the following error lines of this thread: "ratq: <context>: <message>" (e.g. "finetune: step 12"
// while a training step runs, so that an error deep inside it names the step); NULL clears it.
void ratq_error_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Read a whole file into a malloc'd, NUL-terminated buffer. Returns NULL (and prints an error) on failure.
char *ratq_read_file(const char *path, size_t *size);

// Atomic writes: open PATH.tmp.<pid>, write, then ratq_atomic_commit renames it over PATH
// (fflush + fsync first). ratq_atomic_abort removes the temp file. Nothing half-written is ever at PATH.
typedef struct {
    FILE *f;
    char path[4096];
    char tmp[4096 + 32];
} ratq_atomic_file;
int ratq_atomic_open(ratq_atomic_file *af, const char *path);
int ratq_atomic_commit(ratq_atomic_file *af);
void ratq_atomic_abort(ratq_atomic_file *af);

// Remove PATH.tmp.<pid> (a file, or a folder with its contents) next to PATH for every pid that is no longer a
// running process: what a kill during an atomic write of PATH left behind. Only names of exactly that form; a temp
// whose writer may still run (a live pid, or one this process cannot signal) is kept. ratq_atomic_open calls it.
void ratq_clean_stale_temps(const char *path);

// Time in seconds from a monotonic clock.
double ratq_now(void);

#endif
