#!/usr/bin/env python3
"""Uses etcdc as a meson subproject of a tiny parent project.

The parent (in a temporary directory, with subprojects/etcdc a symlink to this source tree) asks
for dependency('etcdc', fallback : ['etcdc', 'etcdc_dep']): it must configure and build without
etcdc's tests, and its program must work against a real etcd. Configured once more, it asks for
dependency('etcdc', fallback : 'etcdc'), which only works when etcdc calls
meson.override_dependency().
"""

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

PARENT = """project('etcdc-parent', 'c', default_options : ['c_std=c11'])

if get_option('lookup') == 'variable'
  # The classic form: the subproject's etcdc_dep variable.
  etcdc_dep = dependency('etcdc', fallback : ['etcdc', 'etcdc_dep'], default_options : ['tests=false'])
else
  # By name only: needs meson.override_dependency('etcdc', ...) in the subproject.
  etcdc_dep = dependency('etcdc', fallback : 'etcdc', default_options : ['tests=false'])
endif
assert(etcdc_dep.type_name() == 'internal', 'etcdc did not come from the subproject')
assert(etcdc_dep.version() == '@VERSION@', 'etcdc_dep.version() is ' + etcdc_dep.version())

executable('consumer', 'consumer.c', dependencies : etcdc_dep)
"""

PARENT_OPTIONS = """option('lookup', type : 'combo', choices : ['variable', 'name'], value : 'variable')
"""


def run(cmd, cwd=None, env=None):
    print("+", " ".join(shlex.quote(c) for c in cmd), flush=True)
    r = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    print(r.stdout, end="" if r.stdout.endswith("\n") else "\n")
    return r.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--meson", required=True, help="the meson command (shell words)")
    ap.add_argument("--ninja", required=True)
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--consumer", required=True)
    ap.add_argument("--run-with-etcd", required=True)
    ap.add_argument("--setup-option", action="append", default=[], help="passed on to meson setup")
    a = ap.parse_args()
    a.consumer = os.path.abspath(a.consumer)
    a.run_with_etcd = os.path.abspath(a.run_with_etcd)
    meson = shlex.split(a.meson)

    failures = []
    with tempfile.TemporaryDirectory(prefix="etcdc-subproject-") as tmp:
        parent = os.path.join(tmp, "parent")
        os.makedirs(os.path.join(parent, "subprojects"))
        os.symlink(os.path.realpath(a.source_root), os.path.join(parent, "subprojects", "etcdc"))
        shutil.copyfile(a.consumer, os.path.join(parent, "consumer.c"))
        with open(os.path.join(parent, "meson.build"), "w", encoding="utf-8") as f:
            f.write(PARENT.replace("@VERSION@", a.version))
        with open(os.path.join(parent, "meson_options.txt"), "w", encoding="utf-8") as f:
            f.write(PARENT_OPTIONS)
        # --force-fallback-for: an etcdc installed on this machine must not be picked instead.
        setup = meson + ["setup", "--force-fallback-for=etcdc"] + a.setup_option

        # Looked up by name: configuring is enough, it yields the same etcdc_dep.
        if run(setup + ["-Dlookup=name", os.path.join(tmp, "build-name"), parent]) != 0:
            failures.append("dependency('etcdc', fallback : 'etcdc') fails: "
                            "does etcdc call meson.override_dependency('etcdc', ...)?")

        build = os.path.join(tmp, "build")
        if run(setup + ["-Dlookup=variable", build, parent]) != 0:
            failures.append("the parent project does not configure")
        elif run([a.ninja, "-C", build]) != 0:
            failures.append("the parent project does not build")
        else:
            with open(os.path.join(build, "meson-info", "intro-targets.json"), encoding="utf-8") as f:
                targets = json.load(f)
            tests_dir = os.path.join("subprojects", "etcdc", "tests") + os.sep
            built_tests = [t["name"] for t in targets if tests_dir in t["defined_in"]]
            if built_tests:
                failures.append(f"etcdc's tests are built in the parent: {', '.join(built_tests)}")
            if run([a.run_with_etcd, os.path.join(build, "consumer"), "subproject"]) != 0:
                failures.append("the parent's consumer failed against etcd")
    for f in failures:
        print("FAIL:", f)
    print(f"subproject: {'FAILED' if failures else 'ok'}")
    return 1 if failures else 0


if __name__ == "__main__":
    # On a timeout meson sends SIGTERM: leave through the with-blocks so temp dirs go away.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    sys.exit(main())
