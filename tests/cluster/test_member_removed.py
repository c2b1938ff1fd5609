"""A removed node learns that it was removed, against four real nodes.

`provena node remove` of a follower: the removed node's own ledger holds the
node.remove (the leader takes it out of the Raft configuration only once it
has stored that entry), so it says "removed" in /api/v1/status with the
height of the block that removed it, logs it, stops campaigning (its term
stays put while the others keep going), answers a submission with 410
{"error":{"code":"removed"}} at once, and a CLI pointed at it alone fails in
seconds with that message (exit 1) instead of waiting for a leader. Started
again, it refuses to start, naming the removal.
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import scaled, wait_for  # noqa: E402


def main():
    lib.require_built()
    c = lib.Cluster(4, name="removed")
    try:
        c.start_all()
        leader = c.leader()
        gone = next(nd for nd in c.nodes if nd is not leader)
        rc, out, err = lib.run_cli("node", "remove", "--id", gone.id, "--key", c.brand_key,
                                   "--node", leader.http, timeout=120)
        assert rc == 0 and "accepted" in out, (rc, out, err)
        rest = [nd for nd in c.nodes if nd is not gone]

        st = wait_for(lambda: (lambda s: s if s.get("removed") else None)(gone.status()),
                      scaled(30), f"node {gone.id} to report itself removed")
        h = st["removed_at_height"]
        assert isinstance(h, int) and h >= 1, st
        assert st["role"] == "removed", st
        # the block at that height holds the node.remove of this node
        code, blk = leader.get(f"/api/v1/blocks/{h}")
        assert code == 200, (code, blk)
        docs = [leader.has_tx(t) for t in blk["txs"]]
        assert any('"node.remove"' in json.dumps(d) and f'{gone.id}' in json.dumps(d)
                   for d in docs), docs
        assert f"removed from the network at height {h}" in gone.log_text(), gone.log_tail()
        wait_for(lambda: "no longer voting or campaigning" in gone.log_text(), scaled(10),
                 "the consensus line saying it left")
        wait_for(lambda: all(gone.id not in [p["id"] for p in nd.status()["peers"]]
                             for nd in rest), scaled(30),
                 f"configuration without node {gone.id} on the others")
        print(f"ok: node {gone.id} reports removed at height {h}, role removed")

        # it stops campaigning: its term stays while the others elect
        t0 = gone.status()["term"]
        leader.stop()
        rest2 = [nd for nd in rest if nd is not leader]
        new = c.leader(nodes=rest2, timeout=scaled(30))
        time.sleep(2)
        assert gone.status()["term"] == t0, (t0, gone.status())
        assert gone.status()["role"] == "removed"
        print(f"ok: node {new.id} leads after node {leader.id} stopped; removed node "
              f"{gone.id} stayed at term {t0}")

        # writes through it fail at once with a clear error
        txid, hexcbor = c.mint(["R1"], lot="R1")
        t = time.monotonic()
        code, doc = gone.submit_cbor(hexcbor)
        assert code == 410 and doc["error"]["code"] == "removed", (code, doc)
        assert f"removed from the network at height {h}" in doc["error"]["message"], doc
        assert time.monotonic() - t < scaled(5), "a removed node's refusal took long"
        t = time.monotonic()
        rc, out, err = lib.run_cli("mint", "--gtin", lib.GTIN, "--lot", "R2", "--count", 1,
                                   "--key", c.brand_key, "--node", gone.http, timeout=120)
        took = time.monotonic() - t
        assert rc == 1 and "removed" in err, (rc, out, err)
        assert took < scaled(10), f"the CLI took {took:.1f}s against a removed node"
        print(f"ok: POST /api/v1/tx on the removed node: 410 removed; the CLI fails in "
              f"{took:.2f}s: {err.strip().splitlines()[-1]}")
        # with a member later in the list, the same CLI goes on to it
        rc, out, err = lib.run_cli("mint", "--gtin", lib.GTIN, "--lot", "R3", "--count", 1,
                                   "--key", c.brand_key, "--node", f"{gone.http},{new.http}",
                                   timeout=120)
        assert rc == 0, (rc, out, err)
        print("ok: with a member next in --node, the CLI's mint commits through it")

        # restarted, it refuses to start, naming the removal
        gone.stop()
        p = subprocess.run([lib.NODE_BIN, "--genesis", c.genesis, "--id", str(gone.id),
                            "--data", gone.data, "--key", gone.key, *gone.link_args()],
                           capture_output=True, text=True, timeout=scaled(30))
        assert p.returncode != 0 and "was removed from the network" in p.stderr, p
        print("ok: restarted, the removed node refuses to start: "
              + p.stderr.strip().splitlines()[-1])
        for nd in rest2:
            nd.stop()
        print("test_member_removed: OK")
        return 0
    except Exception:
        c.dump_logs()
        raise
    finally:
        c.shutdown()


if __name__ == "__main__":
    sys.exit(main())
