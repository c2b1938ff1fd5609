"""Versions: both programs answer --version, and a running node reports its
version, ledger format and wire format in /api/v1/status and as the
provena_build_info metric — the numbers the upgrade rule in OPERATIONS.md uses."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402


def main():
    out = subprocess.run([lib.NODE_BIN, "--version"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out
    m = re.fullmatch(r"provena-node (\S+) \(ledger format (\d+), wire format (\d+)\)\n",
                     out.stdout)
    assert m, repr(out.stdout)
    version, ledger, wire = m.group(1), int(m.group(2)), int(m.group(3))
    assert re.match(r"\d+\.\d+\.\d+", version), version
    cli = subprocess.run([os.path.join(lib.BUILD, "provena"), "--version"], capture_output=True,
                         text=True, timeout=10)
    assert cli.returncode == 0 and cli.stdout == f"provena {version}\n", cli

    c = lib.Cluster(1, name="versions")
    ok = False
    try:
        c.start_all()
        nd = c.nodes[0]
        st = nd.status()
        assert (st["version"], st["ledger_format"], st["wire_format"]) == (version, ledger, wire), st
        _, text = nd.request("GET", "/metrics", accept="text/plain")
        text = text.decode() if isinstance(text, bytes) else str(text)
        line = (f'provena_build_info{{version="{version}",ledger_format="{ledger}",'
                f'wire_format="{wire}"}} 1')
        assert line in text.splitlines(), f"no {line!r} in /metrics"
        ok = True
    finally:
        if not ok:
            c.dump_logs()
        c.shutdown(keep=not ok)
    print("ok")


if __name__ == "__main__":
    main()
