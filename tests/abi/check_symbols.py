#!/usr/bin/env python3
"""Checks that the exported symbols of libetcdc match its headers and lib/libetcdc.map.

Fails when
  - a function declared with ETCD_API in a public header is not exported by the shared library
    (or not defined by the static library),
  - the shared library exports a symbol that the version script does not list,
  - the version script lists a symbol that no public header declares,
  - an exported symbol is not bound to the version node that lists it (readelf --dyn-syms), in
    particular when it carries no version at all: the version script was not used,
  - the static library defines any global symbol besides the ones the map lists: internal
    functions and protobuf-c generated code must be local there too, or they clash with a
    program that has its own.
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


def dynamic_symbols(readelf, lib, node_names):
    """{name: (version, default)} of the symbols the shared library defines and exports;
    version is None for an unversioned symbol, default tells name@@NODE from name@NODE."""
    out = subprocess.run([readelf, "--dyn-syms", "-W", lib], check=True, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    syms = {}
    for line in out.splitlines():
        # Num: Value Size Type Bind Vis Ndx Name
        parts = line.split()
        if len(parts) < 8 or not parts[0].rstrip(":").isdigit():
            continue
        bind, ndx, full = parts[4], parts[6], parts[7]
        if bind not in ("GLOBAL", "WEAK", "UNIQUE") or ndx == "UND":
            continue
        if "@@" in full:
            name, version = full.split("@@", 1)
            default = True
        else:
            name, _, version = full.partition("@")
            default = False
        version = version or None
        if ndx == "ABS" and name in node_names:
            continue  # the version node's own definition
        syms[name] = (version, default)
    return syms


def static_symbols(nm, archive):
    """Names of the global symbols the archive defines, with nm's letter for each."""
    syms = {}
    for line in run_nm(nm, ["--extern-only", "--defined-only", archive]):
        parts = line.split()
        if len(parts) >= 2 and len(parts[-2]) == 1:
            syms[parts[-1]] = parts[-2]
    return syms


PROTOBUF_C_PREFIXES = ("etcdserverpb__", "mvccpb__", "authpb__", "v3lockpb__", "v3electionpb__")


def what_it_is(name):
    if name.startswith(PROTOBUF_C_PREFIXES):
        return "protobuf-c generated"
    if name.startswith("etcd_"):
        return "internal"
    return "not public"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--nm", required=True)
    ap.add_argument("--readelf", required=True)
    ap.add_argument("--shared", required=True, help="the built libetcdc.so")
    ap.add_argument("--static", help="the built libetcdc.a")
    ap.add_argument("--map", required=True, help="the linker version script")
    ap.add_argument("--header-dir", action="append", default=[], help="every *.h in it is public")
    ap.add_argument("--header", action="append", default=[], help="one more public header (generated)")
    a = ap.parse_args()
    if not a.nm or not a.readelf:
        print("nm or readelf not found; skipped")
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

    exported = dynamic_symbols(a.readelf, a.shared, {n for n, _ in nodes})

    for name in sorted(set(declared) - set(exported)):
        problems.append(f"{name} (declared with ETCD_API in {declared[name]}) is not exported by "
                        f"{os.path.basename(a.shared)}")
    for name in sorted(set(exported) - set(mapped)):
        problems.append(f"{os.path.basename(a.shared)} exports {name}, which {os.path.basename(a.map)} "
                        "does not list")
    for name in sorted(set(mapped) - set(declared)):
        problems.append(f"{os.path.basename(a.map)} lists {name}, which no public header declares "
                        "with ETCD_API")
    shared = os.path.basename(a.shared)
    for name in sorted(set(exported) & set(mapped)):
        version, default = exported[name]
        if version is None:
            problems.append(f"{shared} exports {name} without a version (expected {name}@@{mapped[name]}): "
                            "was it linked without the version script?")
        elif version != mapped[name]:
            problems.append(f"{name} is exported as version {version}, but the map lists it under "
                            f"{mapped[name]}")
        elif not default:
            problems.append(f"{shared} exports {name}@{version} only as a non-default version; "
                            f"expected {name}@@{version}")

    defined = {}
    if a.static:
        static = os.path.basename(a.static)
        defined = static_symbols(a.nm, a.static)
        for name in sorted(set(declared) - set(defined)):
            problems.append(f"{name} (declared in {declared[name]}) is not defined by {static}")
        extra = sorted(set(defined) - set(mapped))
        for name in extra:
            problems.append(f"{static} defines the {what_it_is(name)} symbol {name} ({defined[name]}) "
                            "as global; only the map's names may be")

    print(f"{len(headers)} headers, {len(declared)} ETCD_API functions, {len(mapped)} names in the map, "
          f"{len(exported)} exported symbols" + (f", {len(defined)} global symbols in the static library"
                                                 if a.static else ""))
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
