"""Backup and restore as docs/OPERATIONS.md writes them.

A hot backup of a running follower's ledger (`mdb_copy -n -c
DIR/chain/chain.mdb OUT`) is re-verified offline (`provena chain audit --file
OUT --genesis G`: exit 0, and exit 1 against another network's genesis or a
damaged copy). Then, while a client keeps submitting, the node is stopped, its
ledger replaced by the backup (its DIR/raft kept), and started again: it must
catch up and end with the others' head and state digest, and every
submission of the run must be in the ledger.
"""

import os
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

CLI = os.path.join(lib.BUILD, "provena")


def run(*args):
    p = subprocess.run([*map(str, args)], capture_output=True, text=True, timeout=lib.scaled(120))
    return p.returncode, p.stdout, p.stderr


def submit_all(c, txs):
    for txid, cbor in txs:
        st, doc = c.nodes[0].submit_until_definite(cbor, lib.scaled(60))
        assert st == 200, f"tx {txid}: {st} {doc!r}"


def main():
    c = lib.Cluster(3, name="backup")
    ok = False
    try:
        c.start_all()
        leader = c.leader()
        submit_all(c, c.mint_seq(20, "A"))
        nd = next(n for n in c.nodes if n is not leader)
        backup = os.path.join(c.dir, "backup.mdb")
        # the documented command, on a running node
        rc, out, err = run("mdb_copy", "-n", "-c", os.path.join(nd.data, "chain", "chain.mdb"),
                           backup)
        assert rc == 0, f"mdb_copy: {rc}\n{out}{err}"
        rc, out, err = run(CLI, "chain", "audit", "--file", backup, "--genesis", c.genesis)
        assert rc == 0 and "audit OK" in out, f"audit --file: {rc}\n{out}{err}"
        # another network's genesis, and a damaged copy, are refused
        other = os.path.join(c.dir, "other.json")
        with open(c.genesis) as f:
            doc = f.read().replace('"test-backup"', '"test-other"')
        with open(other, "w") as f:
            f.write(doc)
        rc, out, err = run(CLI, "chain", "audit", "--file", backup, "--genesis", other)
        assert rc == 1, f"audit against another genesis: {rc}\n{out}{err}"
        damaged = os.path.join(c.dir, "damaged.mdb")
        shutil.copy(backup, damaged)
        with open(damaged, "r+b") as f:
            f.truncate(os.path.getsize(damaged) // 2)
        rc, out, err = run(CLI, "chain", "audit", "--file", damaged, "--genesis", c.genesis)
        assert rc == 1, f"audit of a truncated copy: {rc}\n{out}{err}"

        # traffic after the backup, then the restore under load
        submit_all(c, c.mint_seq(20, "B"))
        load = c.mint_seq(40, "C")
        errors = []

        def client():
            try:
                submit_all(c, load)
            except AssertionError as e:
                errors.append(e)

        t = threading.Thread(target=client)
        t.start()
        nd.stop()
        chain_dir = os.path.join(nd.data, "chain")
        for name in ("chain.mdb", "chain.mdb-lock"):
            try:
                os.remove(os.path.join(chain_dir, name))
            except FileNotFoundError:
                pass
        shutil.copy(backup, os.path.join(chain_dir, "chain.mdb"))
        os.chmod(os.path.join(chain_dir, "chain.mdb"), 0o600)
        nd.start()
        t.join(lib.scaled(120))
        assert not t.is_alive() and not errors, f"client: {errors}"
        c.wait_tx_everywhere([txid for txid, _ in load])
        head = c.wait_same_head(timeout=lib.scaled(60))
        units = nd.head().get("units")
        assert units == 80, f"restored node holds {units} units, not 80"
        print(f"restored node caught up: height {head[0]}, digest {head[2]}")
        ok = True
    finally:
        if not ok:
            c.dump_logs()
        c.shutdown(keep=not ok)
    print("ok")


if __name__ == "__main__":
    main()
