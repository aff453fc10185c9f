// tflite_python.h — the Python half of `ratq export-tflite` / `ratq import-tflite` (scripts/tflite/ratq_tflite.py):
// the TFLite schema and LiteRT come from PyPI (scripts/tflite/requirements.txt), so these commands run a Python 3
// that has them: $RATQ_PYTHON, else python3 from PATH. The script is $RATQ_TFLITE_SCRIPT, else the copy in the
// source tree this ratq was built from.
#ifndef RATQ_HOST_CLI_TFLITE_PYTHON_H
#define RATQ_HOST_CLI_TFLITE_PYTHON_H

#include <stddef.h>

// Run `python ratq_tflite.py VERB IN OUT`. The script prints its own one-line errors. Its stdout is returned
// in out_text (NUL-terminated, truncated to n - 1 bytes; may be NULL). Returns the script's exit code (0 ok,
// 2 bad input), or 2 after an error line if Python cannot be started.
int ratq_tflite_python(const char *cmd, const char *verb, const char *in, const char *out, char *out_text, size_t n);

#endif
