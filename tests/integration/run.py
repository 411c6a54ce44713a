# SPDX-License-Identifier: ISC
"""Run integration test modules: each test_* function in file order, one
shared world per module (setup/teardown). Prints one line per test and
closes with `integration: N passed, N failed, N skipped`.

`run.py --list [module ...]` prints the test names, one a line, and runs
nothing. TEST_ONLY=name[,name...] runs only the tests with exactly those names (a
name no module has is a failure, not a silent pass). Every test passes run
alone: tests/integration/alone.py checks that.

A test that cannot run here raises harness.Skip(reason): it is printed as
`SKIP   module.test: reason` and counted as skipped, not passed."""
import importlib
import inspect
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


import harness as H  # noqa: E402


def tests_of(mod):
    """A module's test functions, in file order. Tests made in a loop share
    their factory's line: they keep the order they were made in."""
    tests = [(n, f) for n, f in vars(mod).items()
             if n.startswith("test_") and inspect.isfunction(f)]
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    return tests


def main(argv):
    listing = argv[1:2] == ["--list"]
    if listing:
        argv = argv[:1] + argv[2:]
    mods = argv[1:] or ["test_core", "test_sql", "test_abuse", "test_pgbouncer", "test_apache",
                        "test_failover", "test_notify", "test_alerts", "test_status_sql",
                        "test_status_page", "browser.test_status_browser", "test_bench",
                        "test_gcommit"]
    if listing:
        for name in mods:
            for n, _ in tests_of(importlib.import_module(name)):
                print(n)
        return 0
    only = [n for n in os.environ.get("TEST_ONLY", "").split(",") if n]
    passed = failed = skipped = 0
    found = set()
    for name in mods:
        mod = importlib.import_module(name)
        tests = tests_of(mod)
        if only:
            tests = [t for t in tests if t[0] in only]
            found.update(n for n, _ in tests)
            if not tests:
                continue
        try:
            mod.setup()
        except Exception:
            traceback.print_exc()
            print("not ok %s setup" % name)
            failed += len(tests) or 1
            try:
                mod.teardown()
            except Exception:
                pass
            continue
        try:
            for n, f in tests:
                t0 = time.time()
                try:
                    f()
                    passed += 1
                    print("ok     %s.%s (%.2fs)" % (name, n, time.time() - t0), flush=True)
                except H.Skip as e:
                    skipped += 1
                    print("SKIP   %s.%s: %s" % (name, n, e), flush=True)
                except Exception as e:
                    failed += 1
                    print("FAILED %s.%s: %s" % (name, n, e), flush=True)
                    traceback.print_exc(limit=3)
        finally:
            mod.teardown()
    for n in only:
        if n not in found:
            failed += 1
            print("FAILED %s: no such test in %s" % (n, " ".join(mods)), flush=True)
    print("integration: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
