# SPDX-License-Identifier: ISC
"""Order independence: run every test of the named modules on its own
(TEST_ONLY=name, a fresh world each), and list those that fail alone.
Slow (one world per test); not part of run-all.sh.

    python3 tests/integration/alone.py [module ...]   # default test_core test_sql test_abuse

Ends with `alone: N passed, M failed`."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RUN = os.path.join(HERE, "run.py")


def names(module):
    r = subprocess.run([sys.executable, RUN, "--list", module], capture_output=True,
                       text=True, check=True, timeout=60)
    return r.stdout.split()


def main(argv):
    mods = argv[1:] or ["test_core", "test_sql", "test_abuse"]
    passed = failed = 0
    for module in mods:
        for n in names(module):
            try:
                r = subprocess.run([sys.executable, RUN, module],
                                   env=dict(os.environ, TEST_ONLY=n), capture_output=True,
                                   text=True, timeout=300)
                out, ok = r.stdout + r.stderr, r.returncode == 0
            except subprocess.TimeoutExpired as e:
                out, ok = "timed out after 300 s: %s" % (e.stdout or ""), False
            if ok and "integration: 1 passed" not in out and "1 skipped" not in out:
                ok = False
            if ok:
                passed += 1
                print("ok     %s.%s" % (module, n), flush=True)
            else:
                failed += 1
                print("FAILED %s.%s alone:\n%s" % (module, n, out[-3000:]), flush=True)
    print("alone: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
