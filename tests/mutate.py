#!/usr/bin/env python3
"""Mutation check: do the tests notice when the code is wrong?

For each mutant of tests/mutants.txt (a small edit: a bound moved by one, a check
removed, a comparison flipped) this script edits the source, builds the targets the
mutant's tests need, runs those tests with ctest, and puts the file back. A mutant is

  KILLED     a test failed
  SURVIVED   every selected test passed: a test is missing
  INVALID    the mutated tree does not build (-Werror): it tells nothing, rewrite it
  STALE      its original text is not in the file (once, after its anchor) any more:
             the list needs updating, nothing was run

Usage: tests/mutate.py [--build DIR] [--only REGEX] [--list] [--timeout S]

The build directory (default build-mutate, configured RelWithDebInfo on first use)
is separate from build/, so a mutated object never lingers in the tree you test
with. Every file is restored from its original bytes in a `finally`, on Ctrl-C
too; the script refuses to start when a file it would touch has uncommitted
changes (a crash mid-run is then undone with `git checkout`). Exit status: 0 when
every mutant was killed, 1 otherwise. See docs/TESTING.md.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Mutant:
    def __init__(self, name, what):
        self.name = name
        self.what = what
        self.tests = None
        self.edits = []  # [path, anchor, original, replacement]


def parse(path):
    mutants, cur, edit = [], None, None
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            where = f"{path}:{n}"
            if line.startswith("== "):
                name, _, what = line[3:].partition(":")
                cur = Mutant(name.strip(), what.strip())
                mutants.append(cur)
                edit = None
            elif cur is None:
                raise SystemExit(f"{where}: expected '== name: what' first")
            elif line.startswith("tests:"):
                cur.tests = line[6:].strip()
            elif line.startswith("~ "):
                edit[1] = line[2:]
            elif line.startswith("- "):
                edit[2] = line[2:]
            elif line == "+" or line.startswith("+ "):
                edit[3] = line[2:]
            elif not line.startswith(" "):
                edit = [line.strip(), None, None, None]
                cur.edits.append(edit)
            else:
                raise SystemExit(f"{where}: cannot read {line!r}")
    for m in mutants:
        if not m.tests or not m.edits or any(e[2] is None or e[3] is None for e in m.edits):
            raise SystemExit(f"{path}: mutant {m.name}: needs tests:, a file, '- ' and '+ '")
    return mutants


def locate(rel):
    """The file's path now: as written, or found by its name if it moved."""
    if os.path.exists(os.path.join(SRC, rel)):
        return rel
    base = os.path.basename(rel)
    out = subprocess.run(["git", "ls-files", f"*{base}"], cwd=SRC, capture_output=True,
                         text=True).stdout.split()
    hits = [p for p in out if os.path.basename(p) == base]
    return hits[0] if len(hits) == 1 else None


def apply_edit(text, anchor, original, replacement):
    """The mutated text, or None when the original is not there exactly once."""
    start = 0
    if anchor is not None:
        if text.count(anchor) != 1:
            return None
        start = text.index(anchor)
        pos = text.find(original, start)
    else:
        if text.count(original) != 1:
            return None
        pos = text.index(original)
    if pos < 0:
        return None
    return text[:pos] + replacement + text[pos + len(original):]


def ctest_names(build, regex):
    out = subprocess.run(["ctest", "-N", "-R", regex], cwd=build, capture_output=True,
                         text=True).stdout
    return re.findall(r"Test +#\d+: (\S+)", out)


def targets_for(names):
    t = set()
    for n in names:
        if n.startswith("unit_"):
            t.add(n)
        else:  # cluster tests run the programs and the tx signer
            t.update(("provena-node", "provena", "txtool"))
    return sorted(t)


def run(cmd, cwd, timeout=None):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(SRC, "build-mutate"))
    ap.add_argument("--list-file", default=os.path.join(SRC, "tests", "mutants.txt"))
    ap.add_argument("--only", help="run the mutants whose name matches this regex")
    ap.add_argument("--list", action="store_true", help="show the mutants and where they apply")
    ap.add_argument("--timeout", type=int, default=300, help="per-test timeout (s)")
    ap.add_argument("--jobs", default="2")
    a = ap.parse_args()
    # Stopping the run (Ctrl-C, kill, or SIGINT to a run a shell started in the
    # background, which ignores SIGINT) must still reach the `finally` that puts
    # the mutated file back; subprocess.run kills the build or test on the way out.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    mutants = parse(a.list_file)
    if a.only:
        mutants = [m for m in mutants if re.search(a.only, m.name)]

    build = os.path.abspath(a.build)
    if not a.list and not os.path.exists(os.path.join(build, "CMakeCache.txt")):
        rc, out = run(["cmake", "-S", SRC, "-B", build, "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], SRC)
        if rc:
            raise SystemExit(f"configure failed:\n{out}")

    files = sorted({p for m in mutants for p in (locate(e[0]) for e in m.edits) if p})
    dirty = run(["git", "status", "--porcelain", "--", *files], SRC)[1].strip() if files else ""
    if dirty and not a.list:
        raise SystemExit(f"uncommitted changes in files the mutants edit; commit first:\n{dirty}")

    if not a.list:  # one clean build first: a mutant's build then recompiles one file
        rc, out = run(["nice", "-n", "10", "cmake", "--build", build, "-j", a.jobs], SRC)
        if rc:
            raise SystemExit(f"the unmutated tree does not build:\n{out[-3000:]}")

    results = []
    for i, m in enumerate(mutants, 1):
        label = f"[{i}/{len(mutants)}] {m.name}"
        originals, stale = {}, None
        for rel, anchor, orig, repl in m.edits:
            path = locate(rel)
            if path is None:
                stale = f"{rel}: no such file"
                break
            full = os.path.join(SRC, path)
            if full not in originals:
                with open(full) as f:
                    originals[full] = f.read()
        mutated = dict(originals)
        if stale is None:
            for rel, anchor, orig, repl in m.edits:
                full = os.path.join(SRC, locate(rel))
                t = apply_edit(mutated[full], anchor, orig, repl)
                if t is None:
                    stale = f"{rel}: text not found once: {orig!r}"
                    break
                mutated[full] = t
        if stale:
            print(f"{label}: STALE ({stale})", flush=True)
            results.append((m, "STALE", stale))
            continue
        if a.list:
            print(f"{label}: {m.what}  [tests: {m.tests}]")
            continue
        t0 = time.monotonic()
        try:
            for full, text in mutated.items():
                with open(full, "w") as f:
                    f.write(text)
            names = ctest_names(build, m.tests)
            if not names:
                verdict, why = "STALE", f"no test matches {m.tests!r}"
            else:
                rc, out = run(["nice", "-n", "10", "cmake", "--build", build, "-j", a.jobs,
                               "--target", *targets_for(names)], SRC)
                if rc:
                    err = [ln for ln in out.splitlines() if "error" in ln][:1]
                    verdict, why = "INVALID", "does not build: " + (err[0] if err else "?")
                else:
                    rc, out = run(["ctest", "-R", m.tests, "--timeout", str(a.timeout)], build)
                    failed = re.findall(r"\d+ - (\S+) \((?:Failed|Timeout|SEGFAULT|Subprocess"
                                        r" aborted|Exception|Child aborted|Not Run)", out)
                    skipped = re.findall(r"\d+ - (\S+) \(Skipped\)", out)
                    if rc:
                        verdict, why = "KILLED", "by " + (", ".join(failed) or "ctest status")
                    elif skipped:
                        verdict, why = "SURVIVED", f"skipped: {', '.join(skipped)}"
                    else:
                        verdict, why = "SURVIVED", f"{len(names)} tests passed"
        finally:
            for full, text in originals.items():
                with open(full, "w") as f:
                    f.write(text)
        print(f"{label}: {verdict} ({why}, {time.monotonic() - t0:.0f}s)", flush=True)
        results.append((m, verdict, why))

    if a.list:
        return 0
    # leave the mutation build matching the restored sources
    run(["nice", "-n", "10", "cmake", "--build", build, "-j", a.jobs], SRC)
    k = sum(1 for _, v, _ in results if v == "KILLED")
    s = [m.name for m, v, _ in results if v == "SURVIVED"]
    st = [m.name for m, v, _ in results if v in ("STALE", "INVALID")]
    print(f"\nmutants: {len(results)}  killed: {k}  survived: {len(s)}  "
          f"stale or invalid: {len(st)}")
    if s:
        print("survived: " + ", ".join(s))
    if st:
        print("stale or invalid: " + ", ".join(st))
    return 0 if not s and not st else 1


if __name__ == "__main__":
    sys.exit(main())
