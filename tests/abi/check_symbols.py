#!/usr/bin/env python3
"""Checks that the exported symbols of libetcdc match its headers and lib/libetcdc.map.

Fails when
  - a function declared with ETCD_API in a public header is not exported by the shared library
    (or not defined by the static library),
  - the shared library exports a symbol that the version script does not list,
  - the version script lists a symbol that no public header declares,
  - an exported symbol is not bound to the version node that lists it.
"""

import argparse
import glob
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcdc_api  # noqa: E402


def run_nm(nm, args):
    out = subprocess.run([nm] + args, check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    return out.splitlines()


def dynamic_symbols(nm, lib, node_names):
    """{name: version or None} of the symbols the shared library defines and exports."""
    syms = {}
    for line in run_nm(nm, ["-D", "--defined-only", lib]):
        parts = line.split()
        if len(parts) < 2:
            continue
        kind, full = parts[-2], parts[-1]
        name, _, version = full.partition("@")
        version = version.lstrip("@") or None
        if kind == "A" and name in node_names:
            continue  # the version node's own definition
        syms[name] = version
    return syms


def static_symbols(nm, archive):
    syms = set()
    for line in run_nm(nm, ["--defined-only", archive]):
        parts = line.split()
        if len(parts) >= 2 and parts[-2] in ("T", "W", "i"):
            syms.add(parts[-1])
    return syms


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--nm", required=True)
    ap.add_argument("--shared", required=True, help="the built libetcdc.so")
    ap.add_argument("--static", help="the built libetcdc.a")
    ap.add_argument("--map", required=True, help="the linker version script")
    ap.add_argument("--header-dir", action="append", default=[], help="every *.h in it is public")
    ap.add_argument("--header", action="append", default=[], help="one more public header (generated)")
    a = ap.parse_args()
    if not a.nm:
        print("nm not found; skipped")
        return 77

    problems = []

    headers = sorted(set(a.header) | {h for d in a.header_dir for h in glob.glob(os.path.join(d, "*.h"))})
    if not headers:
        problems.append("no public headers found")
    declared = {}
    for h in headers:
        for name in etcdc_api.declared_functions(h):
            declared.setdefault(name, os.path.basename(h))

    nodes, map_problems = etcdc_api.parse_version_script(a.map)
    problems += map_problems
    mapped = {}
    for node, names in nodes:
        for name in names:
            if name in mapped:
                problems.append(f"{a.map}: {name} is listed in both {mapped[name]} and {node}")
            mapped.setdefault(name, node)

    exported = dynamic_symbols(a.nm, a.shared, {n for n, _ in nodes})

    for name in sorted(set(declared) - set(exported)):
        problems.append(f"{name} (declared with ETCD_API in {declared[name]}) is not exported by "
                        f"{os.path.basename(a.shared)}")
    for name in sorted(set(exported) - set(mapped)):
        problems.append(f"{os.path.basename(a.shared)} exports {name}, which {os.path.basename(a.map)} "
                        "does not list")
    for name in sorted(set(mapped) - set(declared)):
        problems.append(f"{os.path.basename(a.map)} lists {name}, which no public header declares "
                        "with ETCD_API")
    for name in sorted(set(exported) & set(mapped)):
        version = exported[name]
        if version is not None and mapped[name] and version != mapped[name]:
            problems.append(f"{name} is exported as version {version}, but the map lists it under "
                            f"{mapped[name]}")

    if a.static:
        defined = static_symbols(a.nm, a.static)
        for name in sorted(set(declared) - defined):
            problems.append(f"{name} (declared in {declared[name]}) is not defined by "
                            f"{os.path.basename(a.static)}")

    print(f"{len(headers)} headers, {len(declared)} ETCD_API functions, {len(mapped)} names in the map, "
          f"{len(exported)} exported symbols")
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
