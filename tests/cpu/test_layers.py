#!/usr/bin/env python3
# test_layers.py — the data flow stays visible in the tree: every quoted #include of kernels/, common/, models/,
# hw/ and host/ resolves to a project file, a folder includes only folders before it in LAYERS (no arrow back up),
# and no file-level include cycle exists. Exit 0 = layering holds; 1 = each violation printed on one line.
# usage: test_layers.py PROJECT_ROOT
import os
import re
import sys

# Lower stages first; a folder may include itself and any folder listed before it.
LAYERS = ["kernels/math", "common", "kernels/cpu", "kernels/cuda", "models", "host/data", "host/dist",
          "host/qmodel", "hw", "host/quant", "host/train", "host/cli"]
SUFFIXES = (".c", ".h", ".cu", ".cuh")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def main(root):
    files = {}
    for layer in LAYERS:
        for name in sorted(os.listdir(os.path.join(root, layer))):
            if name.endswith(SUFFIXES):
                with open(os.path.join(root, layer, name), errors="replace") as f:
                    files[f"{layer}/{name}"] = INCLUDE.findall(f.read())
    # Include search order of the build: the file's folder, host/, kernels/, the project root.
    def resolve(src, inc):
        for base in (os.path.dirname(src), "host", "kernels", ""):
            p = os.path.normpath(os.path.join(base, inc))
            if p in files:
                return p
        return None

    errors, graph, edges = [], {}, 0
    for src, incs in files.items():
        graph[src] = []
        for inc in incs:
            dst = resolve(src, inc)
            if dst is None:
                if os.path.exists(os.path.join(root, os.path.dirname(src), inc)):
                    continue  # a file beside the source outside the layered folders (generated or vendored)
                errors.append(f"{src}: #include \"{inc}\": not a file of the layered folders")
                continue
            edges += 1
            graph[src].append(dst)
            a, b = LAYERS.index(os.path.dirname(src)), LAYERS.index(os.path.dirname(dst))
            if b > a:
                errors.append(f"{src}: includes {dst}: {LAYERS[b]} is above {LAYERS[a]}")
    # File-level cycles: iterative DFS with colours.
    colour = dict.fromkeys(graph, 0)
    for start in graph:
        if colour[start]:
            continue
        stack, path = [(start, iter(graph[start]))], [start]
        colour[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
                path.pop()
            elif colour[nxt] == 1:
                errors.append("include cycle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            elif colour[nxt] == 0:
                colour[nxt] = 1
                stack.append((nxt, iter(graph[nxt])))
                path.append(nxt)
    for e in errors:
        print(e)
    print(f"{len(files)} files, {edges} project includes, {len(errors)} violations")
    if len(files) < 100 or edges < 200:  # the scan itself must have seen the tree
        print("test_layers: too few files or includes found; wrong root?")
        return 1
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
