#!/usr/bin/env python3
"""Compiles every public etcdc header on its own.

  c:   each header alone (and twice, for its include guard) as -std=c11 -pedantic -Wall -Wextra -Werror.
  cxx: each header alone as -std=c++11 -pedantic -Wall -Wextra -Werror, then a C++ program that takes
       the address of every ETCD_API function, links against libetcdc and runs: an undefined
       reference means a declaration lacks extern "C".
"""

import argparse
import glob
import os
import shlex
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcdc_api  # noqa: E402

SKIP = 77

C_FLAGS = ["-std=c11", "-pedantic", "-Wall", "-Wextra", "-Wstrict-prototypes", "-Werror"]
CXX_FLAGS = ["-std=c++11", "-pedantic", "-Wall", "-Wextra", "-Werror"]


def compile_one(cmd, workdir, name, source):
    path = os.path.join(workdir, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(source)
    full = cmd + [path]
    r = subprocess.run(full, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    if r.returncode != 0:
        print(f"FAIL: {name}: {' '.join(shlex.quote(c) for c in full)}")
        print(source)
        print(r.stdout)
        return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("mode", choices=["c", "cxx"])
    ap.add_argument("--compiler", default="", help="the compiler command (shell words)")
    ap.add_argument("--include-dir", action="append", default=[])
    ap.add_argument("--header-dir", action="append", default=[], help="every *.h in it is public")
    ap.add_argument("--header", action="append", default=[], help="one more public header (generated)")
    ap.add_argument("--shared", help="libetcdc.so to link the C++ program against")
    ap.add_argument("--extra-flag", action="append", default=[], help="e.g. the build's -fsanitize=")
    a = ap.parse_args()

    compiler = shlex.split(a.compiler)
    if not compiler:
        print("no compiler for this language; skipped")
        return SKIP
    headers = sorted(set(a.header) | {h for d in a.header_dir for h in glob.glob(os.path.join(d, "*.h"))})
    if not headers:
        print("FAIL: no public headers found")
        return 1
    incs = ["-I" + os.path.abspath(d) for d in a.include_dir]
    ok = True
    with tempfile.TemporaryDirectory(prefix="etcdc-headers-") as tmp:
        for h in headers:
            base = os.path.basename(h)
            stem = os.path.splitext(base)[0]
            src = (f"#include <etcdc/{base}>\n"
                   f"#include <etcdc/{base}>\n"
                   f"typedef int etcdc_header_{stem}_compiles;\n")
            if a.mode == "c":
                cmd = compiler + C_FLAGS + incs + a.extra_flag + ["-c", "-o", stem + ".o"]
                ok &= compile_one(cmd, tmp, f"alone_{stem}.c", src)
            else:
                cmd = compiler + CXX_FLAGS + incs + a.extra_flag + ["-c", "-o", stem + ".o"]
                ok &= compile_one(cmd, tmp, f"alone_{stem}.cpp", src)

        if a.mode == "cxx" and ok:
            funcs = []
            for h in headers:
                funcs += etcdc_api.declared_functions(h)
            funcs = sorted(set(funcs))
            table = "".join(f"    reinterpret_cast<any_fn>(&{f}),\n" for f in funcs)
            src = ("#include <etcdc/etcdc.h>\n"
                   "#include <cstdio>\n"
                   "#include <cstring>\n\n"
                   "typedef void (*any_fn)(void);\n"
                   "static const any_fn api[] = {\n" + table + "};\n\n"
                   "int main()\n{\n"
                   "    for (std::size_t i = 0; i < sizeof api / sizeof api[0]; i++)\n"
                   "        if (!api[i])\n"
                   "            return 1;\n"
                   "    if (std::strcmp(etcd_version(), ETCDC_VERSION_STRING) != 0)\n"
                   "        return 2;\n"
                   "    std::printf(\"%u functions with C linkage, etcdc %s\\n\",\n"
                   "                static_cast<unsigned>(sizeof api / sizeof api[0]), etcd_version());\n"
                   "    return 0;\n}\n")
            libdir = os.path.dirname(os.path.abspath(a.shared))
            cmd = (compiler + CXX_FLAGS + incs + a.extra_flag +
                   ["-o", "cxx_linkage", "cxx_linkage.cpp", os.path.abspath(a.shared), "-Wl,-rpath," + libdir])
            path = os.path.join(tmp, "cxx_linkage.cpp")
            with open(path, "w", encoding="utf-8") as f:
                f.write(src)
            r = subprocess.run(cmd, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True)
            if r.returncode != 0:
                print("FAIL: C++ program using every ETCD_API function does not build:")
                print(" ".join(shlex.quote(c) for c in cmd))
                print(r.stdout)
                ok = False
            else:
                r = subprocess.run([os.path.join(tmp, "cxx_linkage")], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, universal_newlines=True)
                print(r.stdout, end="")
                if r.returncode != 0:
                    print(f"FAIL: C++ program exited with {r.returncode}")
                    ok = False
    print(f"{len(headers)} headers compiled as {'C11' if a.mode == 'c' else 'C++11'}: {'ok' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    # On a timeout meson sends SIGTERM: leave through the with-blocks so temp dirs go away.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    sys.exit(main())
