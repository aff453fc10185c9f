#!/usr/bin/env python3
# ratq_tflite.py — the Python half of `ratq export-tflite` and `ratq import-tflite` (host/cli/cmd_*_tflite.c).
#   export IN.ratqm OUT.tflite     (IN already validated by the C loader)
#   export-plain IN OUT            the same without the "ratq" metadata: the file any other converter would
#                                  write (tests import it as a foreign model)
#   import IN.tflite OUT.ratqm     writes OUT (the C command validates it, derives the rescalers when this
#                                  prints "rescale: derive", and saves the final file atomically)
# Errors: one line "ratq: FILE: field: what" on stderr, exit 2, nothing left at OUT. Writes are atomic
# (OUT.tmp.<pid>, then rename).
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def atomic_write(path, data):
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise_error(path, "write", e.strerror or str(e))


def raise_error(path, field, what):
    from ratqm import RatqError
    raise RatqError(path, field, what)


def main(argv):
    if len(argv) != 4 or argv[1] not in ("export", "export-plain", "import"):
        sys.stderr.write("usage: ratq_tflite.py export IN.ratqm OUT.tflite | import IN.tflite OUT.ratqm\n")
        return 2
    try:
        import numpy  # noqa: F401
        from ai_edge_litert import schema_py_generated  # noqa: F401
        import flatbuffers  # noqa: F401
    except ImportError as e:
        sys.stderr.write(f"ratq: {argv[1]}-tflite: python module '{e.name}' is missing "
                         "(pip install -r scripts/tflite/requirements.txt)\n")
        return 2
    import ratqm
    from ratqm import RatqError
    try:
        if argv[1] in ("export", "export-plain"):
            import export
            m = ratqm.load(argv[2])
            model, _ = export.build(m, argv[2], keep_metadata=argv[1] == "export")
            atomic_write(argv[3], export.serialize(model))
        else:
            import import_tflite
            m, derive = import_tflite.convert(argv[2])
            atomic_write(argv[3], ratqm.dumps(m))
            print("rescale: derive" if derive else "rescale: stored")
    except RatqError as e:
        sys.stderr.write(f"ratq: {e}\n")
        return 2
    except Exception as e:  # a reader bug or an input the checks above missed: still one line, exit 2
        sys.stderr.write(f"ratq: {argv[2]}: {argv[1]}: unexpected {type(e).__name__}: {e}\n".replace("\n", " ")
                         .rstrip() + "\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
