"""`provena node remove` against a real four-node network.

Removing a follower: the Raft configuration shrinks to the three others, the
leader stays, writes still commit on every remaining node, and a scan batch
signed by the removed node's key is refused (revoked_signer). Removing the
leader: it leaves the configuration, another node leads, writes commit on the
two that remain. Every node is stopped with SIGTERM and must exit 0.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import scaled, wait_for  # noqa: E402

CLI = os.path.join(lib.BUILD, "provena")


def node_remove(c, via, nid):
    """`provena node remove` signed by the brand, sent to `via`; returns the CLI's output."""
    env = dict(os.environ)
    env.pop("PROVENA_KEY", None)
    p = subprocess.run([CLI, "node", "remove", "--id", str(nid), "--key", c.brand_key,
                        "--node", via.http], capture_output=True, text=True, env=env,
                       timeout=scaled(120))
    assert p.returncode == 0, f"provena node remove --id {nid}: rc={p.returncode}\n{p.stdout}{p.stderr}"
    return p.stdout


def voters(nd):
    return sorted(p["id"] for p in nd.status().get("peers", []) if p.get("voter"))


def members(nd):
    return sorted(p["id"] for p in nd.status().get("peers", []))


def commit_on(c, nodes, serial):
    txid, hexcbor = c.mint([serial], lot="M1")
    st, doc = nodes[0].submit_until_definite(hexcbor, scaled(30))
    assert st == 200 and doc.get("status") == "accepted", (st, doc)
    c.wait_tx_everywhere([txid], nodes=nodes)
    return txid


def main():
    lib.require_built()
    c = lib.Cluster(4, name="membership")
    try:
        c.start_all()
        leader = c.leader()
        assert members(leader) == [1, 2, 3, 4], leader.status()
        commit_on(c, c.nodes, "M0")

        # ---- remove a follower -------------------------------------------------------
        gone = next(nd for nd in c.nodes if nd is not leader)
        out = node_remove(c, leader, gone.id)
        assert "accepted" in out, out
        rest = [nd for nd in c.nodes if nd is not gone]
        wait_for(lambda: all(members(nd) == sorted(x.id for x in rest) for nd in rest),
                 scaled(30), f"configuration without node {gone.id} on every remaining node")
        assert c.leader(nodes=rest) is leader, "leadership moved when a follower was removed"
        commit_on(c, rest, "M1")
        print(f"ok: follower {gone.id} removed: configuration {members(leader)}, "
              f"leader {leader.id} stays, writes commit")

        # its key no longer signs: a scan batch signed by it is refused by the ledger
        st, doc = leader.get(f"/api/v1/nonce/{gone.pub}")
        assert st == 200, (st, doc)
        sid, shex = lib.txtool("scans", c.genesis, gone.key, int(doc["next"]), lib.GTIN, "M1")[0]
        st, doc = leader.submit_until_definite(shex, scaled(30))
        assert st == 422 and doc.get("code", doc.get("error", {}).get("code")) == "revoked_signer", \
            (st, doc)
        print(f"ok: a scan batch signed by removed node {gone.id} is refused (revoked_signer)")

        # the removed node learns it (the leader's heartbeats carry the commit of
        # its node.remove before its links close) and commits nothing any more
        wait_for(lambda: gone.status().get("role") == "removed", scaled(30),
                 f"node {gone.id} to report itself removed")
        txid, hexcbor = c.mint(["M2"], lot="M1")
        st, _ = gone.request("POST", "/api/v1/tx", bytes.fromhex(hexcbor), "application/cbor",
                             timeout=scaled(30))
        assert st == 410, f"removed node answered a write with {st}"
        commit_on(c, rest, "M3")  # the brand's nonce M2 was never used: the ledger's next
        gone.stop()

        # ---- remove the leader -------------------------------------------------------
        old = leader
        out = node_remove(c, old, old.id)
        assert "accepted" in out, out
        rest2 = [nd for nd in rest if nd is not old]
        new = wait_for(lambda: (lambda ld: ld if ld is not old else None)(c.leader(nodes=rest2)),
                       scaled(30), "a new leader among the remaining nodes")
        wait_for(lambda: all(members(nd) == sorted(x.id for x in rest2) for nd in rest2),
                 scaled(30), f"configuration without node {old.id}")
        assert voters(new) == sorted(x.id for x in rest2), new.status()
        commit_on(c, rest2, "M4")
        print(f"ok: leader {old.id} removed: node {new.id} leads {members(new)}, writes commit")
        old.stop()
        for nd in rest2:
            nd.stop()
        print("test_membership: OK")
        return 0
    except Exception:
        c.dump_logs()
        raise
    finally:
        c.shutdown()


if __name__ == "__main__":
    sys.exit(main())
