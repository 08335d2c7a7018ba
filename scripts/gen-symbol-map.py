#!/usr/bin/env python3
"""Keeps lib/libetcdc.map in step with the ETCD_API functions of include/etcdc/*.h.

  scripts/gen-symbol-map.py                 lists what the map lacks and what it has too much
  scripts/gen-symbol-map.py --add           adds missing names to the newest version node
  scripts/gen-symbol-map.py --add --node ETCDC_0.2
                                            adds them to ETCDC_0.2, created after the newest node
  scripts/gen-symbol-map.py --keep-list OUT writes every name the map exports to OUT, one a line:
                                            the build keeps exactly these global in libetcdc.a

Names are never removed: dropping an exported symbol breaks the ABI, so that stays a manual
decision (and bumps soversion in meson.build). tests/abi checks the result.
"""

import argparse
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "abi"))
import etcdc_api  # noqa: E402


def render_globals(names, has_local):
    lines = ["  global:"] + [f"    {n};" for n in names]
    if has_local:
        lines += ["  local:", "    *;"]
    return "\n" + "\n".join(lines) + "\n"


def write_keep_list(map_path, out):
    nodes, problems = etcdc_api.parse_version_script(map_path)
    for p in problems:
        print("error:", p, file=sys.stderr)
    names = sorted({n for _, node_names in nodes for n in node_names})
    if problems or not names:
        if not names:
            print(f"error: {map_path} exports nothing", file=sys.stderr)
        return 1
    with open(out, "w", encoding="utf-8") as f:
        f.write("".join(n + "\n" for n in names))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--map", default=os.path.join(ROOT, "lib", "libetcdc.map"))
    ap.add_argument("--add", action="store_true", help="write missing names into the map")
    ap.add_argument("--node", help="version node for new names (default: the newest one)")
    ap.add_argument("--keep-list", metavar="OUT", help="write the exported names to OUT and stop")
    a = ap.parse_args()

    if a.keep_list:
        return write_keep_list(a.map, a.keep_list)

    headers = glob.glob(os.path.join(ROOT, "include", "etcdc", "*.h"))
    headers += glob.glob(os.path.join(ROOT, "include", "etcdc", "*.h.in"))
    declared = set()
    for h in headers:
        declared.update(etcdc_api.declared_functions(h))

    nodes, problems = etcdc_api.parse_version_script(a.map)
    for p in problems:
        print("error:", p, file=sys.stderr)
    if problems or not nodes:
        return 1
    mapped = {n for _, names in nodes for n in names}
    missing = sorted(declared - mapped)
    extra = sorted(mapped - declared)
    for n in extra:
        print(f"in the map but declared nowhere (remove by hand if intended): {n}")
    if not missing:
        print("every ETCD_API function is in the map")
        return 1 if extra else 0
    if not a.add:
        for n in missing:
            print(f"missing from the map: {n}")
        return 1

    with open(a.map, encoding="utf-8") as f:
        text = f.read()
    node = a.node or nodes[-1][0]
    existing = dict(nodes)
    if node in existing:
        m = re.search(r"(\b" + re.escape(node) + r"\s*\{)(.*?)(\})", text, re.S)
        if m is None:
            print(f"error: cannot find node {node} in {a.map}", file=sys.stderr)
            return 1
        has_local = re.search(r"\blocal\s*:", m.group(2)) is not None
        body = render_globals(sorted(set(existing[node]) | set(missing)), has_local)
        text = text[:m.start(2)] + body + text[m.end(2):]
    else:
        newest = nodes[-1][0]
        text = text.rstrip("\n") + "\n\n" + node + " {" + render_globals(missing, False) + "} " + newest + ";\n"
    with open(a.map, "w", encoding="utf-8") as f:
        f.write(text)
    for n in missing:
        print(f"added to {node}: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
