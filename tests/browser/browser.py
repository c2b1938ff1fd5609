"""Python side of the browser harness (tests/browser/harness.js).

run_js(script, spec) runs a Node driver from this folder with a JSON spec and
returns its JSON answer. The driver exits 77 when Chromium cannot start, which
run_js turns into lib.skip (ctest: Skipped); a missing Node or npm module is a
failure naming scripts/install-deps.sh, never a silent pass.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
NPM = os.environ.get("PROVENA_NPM_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
    "provena-npm")
NEEDS = ("playwright-core", "axe-core")


def missing_tools():
    """What is missing to run a browser test ([] when nothing)."""
    out = []
    if not shutil.which("node"):
        out.append("node (Debian package nodejs)")
    for m in NEEDS:
        if not os.path.exists(os.path.join(NPM, "node_modules", m, "package.json")):
            out.append(f"npm module {m} in {NPM}")
    return out


def run_js(script, spec, skip, timeout=600):
    """Runs HERE/script with spec (a dict, passed as a JSON file); returns the
    parsed JSON it prints. skip(why) is called (it must not return) when
    Chromium cannot start."""
    miss = missing_tools()
    if miss:
        raise AssertionError("browser test tools missing (run scripts/install-deps.sh): "
                             + ", ".join(miss))
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
        path = f.name
    try:
        p = subprocess.run(["node", os.path.join(HERE, script), path], capture_output=True,
                           text=True, timeout=timeout)
    finally:
        os.unlink(path)
    if p.returncode == 77:
        skip(f"chromium cannot start: {p.stderr.strip()}")
    if p.returncode != 0:
        raise AssertionError(f"{script} exit {p.returncode}:\n{p.stderr[-4000:]}")
    return json.loads(p.stdout)


if __name__ == "__main__":  # python3 browser.py spec.json: run pages.js by hand
    print(json.dumps(run_js("pages.js", json.load(open(sys.argv[1])),
                            lambda why: sys.exit(print(why) or 77)), indent=1))
