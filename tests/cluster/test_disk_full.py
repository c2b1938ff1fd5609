"""A full disk is a clean, visible, recoverable state (one-node network).

The node's data directory is a 30 MB tmpfs (needs root for mount; exits 77
when mounting is not permitted). The node keeps 8 MiB free
(--disk-reserve-mb 8). Some mints commit; then a file fills the tmpfs to the
last byte. At once: POST /api/v1/tx is 507 disk_full (no waiting),
/api/v1/status says disk.full, /metrics provena_disk_full 1, `provena mint`
prints disk_full and exits non-zero, reads still answer and the node stays
up. The file is removed: with no restart the node takes writes again, and
every mint acknowledged before is still there, plus the new one. Last, the
disk fills while writes are in flight (real ENOSPC in LMDB and the Raft
log): the node stays up, and once space returns every tx resubmitted is
committed.
"""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402


def metric(nd, name):
    st, text = nd.request("GET", "/metrics", accept="text/plain")
    assert st == 200
    for line in text.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def fill(path):
    """Writes path until the filesystem has no byte left; returns bytes written."""
    n = 0
    chunk = b"\0" * (1 << 20)
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                n += f.write(chunk)
            except OSError:
                break
        for size in (65536, 4096, 512, 1):  # the last partial blocks
            while True:
                try:
                    n += f.write(b"\0" * size)
                except OSError:
                    break
    return n


def main():
    lib.require_built()
    if os.geteuid() != 0:
        lib.skip("mounting a tmpfs needs root")
    c = lib.Cluster(1, name="diskfull", node_args=("--disk-reserve-mb", "8"))
    nd = c.nodes[0]
    mnt = nd.data
    os.makedirs(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=30m", "tmpfs", mnt],
                       capture_output=True, text=True)
    if r.returncode != 0:
        c.shutdown()
        lib.skip(f"mount -t tmpfs not permitted: {r.stderr.strip()}")
    filler = os.path.join(mnt, "filler")
    passed = 0
    try:
        c.start_all()
        c.leader()
        acked = []
        for i in range(5):
            txid, hexcbor = c.mint([f"D{i}A", f"D{i}B"], lot="L1")
            st, doc = nd.submit_cbor(hexcbor)
            assert st == 200 and doc["status"] == "accepted", (st, doc)
            acked.append(txid)
        h0 = lib.head_key(nd.head())[0]
        assert h0 and h0 >= 5, nd.head()
        doc = nd.status()
        assert doc["disk"]["full"] is False, doc
        assert metric(nd, "provena_disk_full") == 0

        written = fill(filler)
        assert os.statvfs(mnt).f_bavail == 0, "the tmpfs is full"
        # a submission: 507 at once
        txid, hexcbor = c.mint(["FULL1"], lot="L1")
        t0 = time.monotonic()
        st, doc = nd.submit_cbor(hexcbor)
        took = time.monotonic() - t0
        assert st == 507 and doc["error"]["code"] == "disk_full", (st, doc)
        assert took < lib.scaled(1.0), f"507 took {took:.2f}s"
        doc = nd.status()
        assert doc["disk"]["full"] is True and doc["disk"]["free_bytes"] == 0, doc
        assert doc["role"] == "leader", doc
        assert metric(nd, "provena_disk_full") == 1
        assert metric(nd, "provena_disk_free_bytes") == 0
        print(f"ok: tmpfs filled ({written >> 20} MiB file): submit 507 disk_full in "
              f"{took * 1000:.0f} ms; status disk.full; /metrics provena_disk_full 1")
        passed += 1

        # the CLI says so and exits non-zero, without hanging
        t0 = time.monotonic()
        env = dict(os.environ, PROVENA_NODE=nd.http, PROVENA_KEY=c.brand_key)
        p = subprocess.run([os.path.join(lib.BUILD, "provena"), "mint", "--gtin", lib.GTIN,
                            "--lot", "L2", "--count", "1"], capture_output=True, text=True,
                           env=env, timeout=lib.scaled(60))
        rc, out, err = p.returncode, p.stdout, p.stderr
        took = time.monotonic() - t0
        assert rc != 0 and "disk_full" in err, (rc, out, err)
        assert took < lib.scaled(10), f"the CLI took {took:.1f}s"
        print(f"ok: provena mint exits {rc} in {took:.1f}s: {err.strip().splitlines()[-1]}")
        passed += 1

        # reads go on; the node is up and still leader
        st, doc = nd.get(f"/api/v1/units/{lib.GTIN}/D0A")
        assert st == 200, (st, doc)
        st, doc = nd.get(f"/01/{lib.GTIN}/21/D1A")  # a public scan (its record waits)
        assert st == 200, (st, doc)
        time.sleep(lib.scaled(2))
        assert nd.alive(), "the node must not exit on a full disk"
        assert lib.head_key(nd.head())[0] == h0, "nothing written while full"
        assert "disk full" in nd.log_text()
        print("ok: reads answer, the node stays up and leader, nothing written, log says so")
        passed += 1

        # space returns: writes resume with no restart, nothing lost
        os.unlink(filler)
        lib.wait_for(lambda: nd.status()["disk"]["full"] is False, lib.scaled(10),
                     "disk.full false again")
        st, doc = nd.submit_cbor(hexcbor)
        assert st == 200 and doc["status"] == "accepted", (st, doc)
        acked.append(txid)
        for t in acked:
            assert nd.has_tx(t), t
        assert metric(nd, "provena_disk_full") == 0
        pid = nd.proc.pid
        assert nd.alive() and nd.proc.pid == pid
        print(f"ok: file removed: writes resume without a restart; all {len(acked)} "
              "acknowledged mints present")
        passed += 1

        # the disk fills while writes are in flight (past the reserve check): LMDB
        # and the Raft log meet ENOSPC for real. The node stays up; once space
        # returns, every tx resubmitted (same bytes, same id) is committed once.
        free = os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize
        with open(filler, "wb") as f:
            f.write(b"\0" * max(0, free - (9 << 20)))  # 1 MiB over the reserve
        first = c.next_nonces(20)
        race = [c.mint([f"R{i}S{j}" for j in range(300)], lot="L1", nonce=first + i)
                for i in range(20)]
        done = threading.Event()

        def fill_rest():
            done.wait(lib.scaled(5))
            fill(filler + "2")
        th = threading.Thread(target=fill_rest)
        th.start()
        answers = []
        for i, (txid, hexcbor) in enumerate(race):
            if i == 1:
                done.set()
            st, doc = nd.submit_cbor(hexcbor, wait=False)
            answers.append(st)
        th.join()
        time.sleep(lib.scaled(2))
        assert nd.alive(), "the node must survive ENOSPC mid-write"
        assert 507 in answers, answers
        os.unlink(filler)
        os.unlink(filler + "2")
        lib.wait_for(lambda: nd.status()["disk"]["full"] is False, lib.scaled(10),
                     "disk.full false after the race")
        for txid, hexcbor in race:  # the client's resubmission of what it sent
            st, doc = nd.submit_until_definite(hexcbor, lib.scaled(30))
            assert st == 200 and doc["status"] == "accepted", (txid, st, doc)
        for t in acked:
            assert nd.has_tx(t), t
        assert nd.proc.pid == pid and nd.alive()
        print(f"ok: disk filled mid-write ({answers.count(202)} queued, "
              f"{answers.count(507)} refused 507): node up; after space returned all 20 "
              "resubmitted txs committed, earlier ones intact, no restart")
        passed += 1
    except Exception:
        c.dump_logs()
        raise
    finally:
        for f in (filler, filler + "2"):
            try:
                os.unlink(f)
            except OSError:
                pass
        for p in c.nodes:
            if p.proc is not None:
                lib._end(p.proc, lib.scaled(10))
                p.proc = None
        subprocess.run(["umount", mnt], capture_output=True)
        c.shutdown()
    print(f"{passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
