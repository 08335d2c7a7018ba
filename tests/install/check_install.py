#!/usr/bin/env python3
"""Installs the build into a temporary DESTDIR and checks it the way a user of the package would.

  layout: the library (shared, static, soname links), etcdc.pc, the public headers and etcdcctl
          are installed; installed headers include nothing from gRPC or protobuf-c and no
          generated protobuf header is installed; etcdc.pc carries what static linking needs.
  shared: builds consumer.c with only `cc consumer.c $(pkg-config --cflags --libs etcdc)` and runs
          it against a real etcd.
  static: the same with `pkg-config --static` against an install holding only libetcdc.a.

pkg-config reads the installed etcdc.pc through PKG_CONFIG_SYSROOT_DIR=DESTDIR, the usual way to
use a staged install, so the paths it prints point into DESTDIR.
"""

import argparse
import glob
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "abi"))
import etcdc_api  # noqa: E402

# Headers an installed etcdc header may include besides its own.
STANDARD_HEADERS = {"stddef.h", "stdint.h", "stdbool.h", "stdarg.h", "limits.h", "inttypes.h", "time.h",
                    "sys/types.h"}
FORBIDDEN = re.compile(r"grpc|protobuf|pb-c|upb|absl", re.I)

problems = []


def fail(msg):
    problems.append(msg)
    print("FAIL:", msg)


def run(cmd, env=None, cwd=None, check=True, echo=True):
    print("+", " ".join(shlex.quote(c) for c in cmd), flush=True)
    r = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    if r.stdout and (echo or r.returncode != 0):
        print(r.stdout, end="" if r.stdout.endswith("\n") else "\n")
    if check and r.returncode != 0:
        raise RuntimeError(f"exit status {r.returncode}: {' '.join(shlex.quote(c) for c in cmd)}")
    return r


class Build:
    """What the build directory says will be installed, and where."""

    def __init__(self, builddir):
        info = os.path.join(builddir, "meson-info")
        with open(os.path.join(info, "intro-targets.json"), encoding="utf-8") as f:
            self.targets = json.load(f)
        with open(os.path.join(info, "intro-installed.json"), encoding="utf-8") as f:
            self.installed = json.load(f)
        with open(os.path.join(info, "intro-buildoptions.json"), encoding="utf-8") as f:
            opts = {o["name"]: o["value"] for o in json.load(f) if "name" in o}
        self.prefix = opts["prefix"]
        self.includedir = os.path.join(self.prefix, opts["includedir"])
        self.libdir = os.path.join(self.prefix, opts["libdir"])

    def target(self, name, kind):
        for t in self.targets:
            if t["name"] == name and t["type"] == kind and t.get("subproject") is None:
                return t
        return None

    def pc_file(self):
        for src, dst in self.installed.items():
            if os.path.basename(dst) == "etcdc.pc":
                return dst
        return None


def staged(destdir, path):
    return os.path.join(destdir, path.lstrip(os.sep))


def install(meson, builddir, destdir):
    # Without --no-rebuild: every installed target (not only this test's dependencies) must be built.
    run(meson + ["install", "-C", builddir, "--quiet", "--destdir", destdir])


def pkg_config_env(destdir, b):
    env = dict(os.environ)
    pcdir = staged(destdir, os.path.dirname(b.pc_file()))
    env["PKG_CONFIG_PATH"] = os.pathsep.join(p for p in [pcdir, env.get("PKG_CONFIG_PATH", "")] if p)
    env["PKG_CONFIG_SYSROOT_DIR"] = destdir
    return env


def check_layout(a, b, destdir):
    shared = b.target("etcdc", "shared library")
    static = b.target("etcdc", "static library")
    pc = b.pc_file()
    if not shared or not shared["installed"]:
        fail("the shared library libetcdc is not installed")
    if not static or not static["installed"]:
        fail("the static library libetcdc.a is not installed")
    if not pc:
        fail("etcdc.pc is not installed")
    if problems:
        return

    # Every file meson lists, present in DESTDIR.
    for dst in b.installed.values():
        if not os.path.lexists(staged(destdir, dst)):
            fail(f"{dst} is missing from the install")

    # libetcdc.so -> libetcdc.so.SOVERSION -> libetcdc.so.VERSION, and the soname.
    libdir = staged(destdir, b.libdir)
    real = os.path.join(libdir, f"libetcdc.so.{a.version}")
    soname = f"libetcdc.so.{a.soversion}"
    if not os.path.isfile(real) or os.path.islink(real):
        fail(f"{real} is not a regular file")
    for link in ("libetcdc.so", soname):
        p = os.path.join(libdir, link)
        if not os.path.islink(p) or os.path.realpath(p) != os.path.realpath(real):
            fail(f"{link} is not a symlink to libetcdc.so.{a.version}")
    if not os.path.isfile(os.path.join(libdir, "libetcdc.a")):
        fail("libetcdc.a is not in the installed libdir")
    if a.readelf and os.path.isfile(real):
        dyn = run([a.readelf, "-d", real], echo=False).stdout
        m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", dyn)
        if not m or m.group(1) != soname:
            fail(f"installed library's soname is {m.group(1) if m else 'missing'}, expected {soname}")

    # Headers: exactly the public ones, self-contained apart from standard C headers.
    incdir = staged(destdir, os.path.join(b.includedir, "etcdc"))
    want = {os.path.basename(h) for h in glob.glob(os.path.join(a.source_root, "include", "etcdc", "*.h"))}
    want.add("version.h")
    have = set(os.listdir(incdir)) if os.path.isdir(incdir) else set()
    for h in sorted(want - have):
        fail(f"public header etcdc/{h} is not installed")
    for h in sorted(have - want):
        fail(f"etcdc/{h} is installed but is not a public header")
    for h in sorted(have & want):
        for delim, inc in etcdc_api.includes(os.path.join(incdir, h)):
            spelled = f"<{inc}>" if delim == "<" else f'"{inc}"'
            if FORBIDDEN.search(inc):
                fail(f"installed etcdc/{h} includes {spelled}: gRPC/protobuf-c must stay internal")
            elif inc.startswith("etcdc/"):
                if os.path.basename(inc) not in want:
                    fail(f"installed etcdc/{h} includes <{inc}>, which is not installed")
            elif inc not in STANDARD_HEADERS:
                fail(f"installed etcdc/{h} includes {spelled}, not a public or standard C header")
    with open(os.path.join(incdir, "version.h"), encoding="utf-8") as f:
        if f'#define ETCDC_VERSION_STRING "{a.version}"' not in f.read():
            fail(f"installed etcdc/version.h does not say {a.version}")

    # Nothing generated from .proto files is installed, anywhere.
    for root, _, files in os.walk(destdir):
        for name in files:
            if name.endswith((".pb-c.h", ".pb-c.c", ".pb.h", ".proto")):
                fail(f"{os.path.relpath(os.path.join(root, name), destdir)} is installed")

    # etcdc.pc: names the library, and carries what static linking needs.
    fields = {}
    with open(staged(destdir, pc), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"([A-Za-z.]+):\s*(.*)", line)
            if m:
                fields[m.group(1)] = m.group(2).strip()
    if fields.get("Version") != a.version:
        fail(f"etcdc.pc says Version: {fields.get('Version')}, expected {a.version}")
    if "-letcdc" not in fields.get("Libs", "").split():
        fail("etcdc.pc: Libs lacks -letcdc")
    reqs = re.split(r"[\s,]+", fields.get("Requires.private", "") + " " + fields.get("Requires", ""))
    for dep in ("grpc", "libprotobuf-c"):
        if dep not in reqs:
            fail(f"etcdc.pc: Requires.private lacks {dep} (needed to link libetcdc.a)")
    priv = fields.get("Libs.private", "").split()
    if "-pthread" not in priv and "-lpthread" not in priv:
        fail("etcdc.pc: Libs.private lacks -pthread (needed to link libetcdc.a)")
    for key in ("Cflags", "Libs", "Libs.private"):
        for root in (a.source_root, a.build_root):
            if root in fields.get(key, ""):
                fail(f"etcdc.pc: {key} points into {root}")
    env = pkg_config_env(destdir, b)
    cflags = run([a.pkg_config, "--cflags", "etcdc"], env=env).stdout
    if "-I" + staged(destdir, b.includedir) not in cflags.split():
        fail(f"pkg-config --cflags etcdc does not point at the installed headers: {cflags.strip()}")

    # The command-line tool, once it is part of the build.
    ctl = b.target("etcdcctl", "executable")
    if ctl is None:
        print("no etcdcctl target in this build; its install check is skipped")
    elif not ctl["installed"]:
        fail("etcdcctl is built but not installed")
    else:
        for dst in ctl["install_filename"]:
            p = staged(destdir, dst)
            if not (os.path.isfile(p) and os.access(p, os.X_OK)):
                fail(f"etcdcctl is not installed as an executable at {dst}")
            else:
                print(f"etcdcctl installed at {dst}")

    print(f"installed under {destdir}:")
    for root, _, files in sorted(os.walk(destdir)):
        for name in sorted(files):
            print("  ", os.path.relpath(os.path.join(root, name), destdir))


def build_and_run_consumer(a, b, destdir, static):
    if not b.pc_file():
        fail("etcdc.pc is not installed")
        return
    env = pkg_config_env(destdir, b)
    libdir = staged(destdir, b.libdir)
    if static:
        # A static-only install: -letcdc can only mean libetcdc.a.
        for p in glob.glob(os.path.join(libdir, "libetcdc.so*")):
            os.remove(p)
    pc_args = ["--static"] if static else []
    flags = shlex.split(run([a.pkg_config] + pc_args + ["--cflags", "--libs", "etcdc"], env=env).stdout)
    if "-L" + libdir not in flags or "-I" + staged(destdir, b.includedir) not in flags:
        fail(f"pkg-config flags do not point into the install: {' '.join(flags)}")
        return
    work = os.path.join(destdir, "consumer")
    os.makedirs(work)
    src = os.path.join(work, "consumer.c")
    shutil.copyfile(a.consumer, src)
    exe = os.path.join(work, "consumer")
    # The build's sanitizers, when on, must be in the program too (they are in the library).
    run(shlex.split(a.cc) + a.extra_flag + [src, "-o", exe] + flags, cwd=work)

    run_env = dict(os.environ)
    run_env.pop("LD_LIBRARY_PATH", None)
    if not static:
        run_env["LD_LIBRARY_PATH"] = libdir
    if a.readelf:
        dyn = run([a.readelf, "-d", exe], echo=False).stdout
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
        uses_so = any(n.startswith("libetcdc.so") for n in needed)
        if static and uses_so:
            fail("the consumer built with --static still needs libetcdc.so")
        if not static and f"libetcdc.so.{a.soversion}" not in needed:
            fail(f"the consumer does not need libetcdc.so.{a.soversion}: {needed}")
    r = run([a.run_with_etcd, exe, "install-" + ("static" if static else "shared")], env=run_env, check=False)
    if r.returncode != 0:
        fail(f"the {'static' if static else 'shared'} consumer failed against etcd (exit {r.returncode})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["layout", "shared", "static"])
    ap.add_argument("--meson", required=True, help="the meson command (shell words)")
    ap.add_argument("--build-root", required=True)
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--soversion", required=True)
    ap.add_argument("--pkg-config", default="")
    ap.add_argument("--readelf", default="")
    ap.add_argument("--cc", default="cc", help="the C compiler command (shell words)")
    ap.add_argument("--consumer")
    ap.add_argument("--run-with-etcd")
    ap.add_argument("--extra-flag", action="append", default=[])
    a = ap.parse_args()
    for name in ("consumer", "run_with_etcd"):
        if getattr(a, name):
            setattr(a, name, os.path.abspath(getattr(a, name)))
    a.source_root = os.path.realpath(a.source_root)
    a.build_root = os.path.realpath(a.build_root)

    if not a.pkg_config:
        print("pkg-config not found; skipped")
        return 77
    b = Build(a.build_root)
    with tempfile.TemporaryDirectory(prefix="etcdc-install-") as destdir:
        try:
            install(shlex.split(a.meson), a.build_root, destdir)
            if a.mode == "layout":
                check_layout(a, b, destdir)
            else:
                build_and_run_consumer(a, b, destdir, a.mode == "static")
        except (RuntimeError, OSError) as e:
            fail(str(e))
    print(f"install {a.mode}: {'FAILED' if problems else 'ok'}")
    return 1 if problems else 0


if __name__ == "__main__":
    # On a timeout meson sends SIGTERM: leave through the with-blocks so temp dirs go away.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    sys.exit(main())
