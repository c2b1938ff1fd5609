"""A new node on a former member's address, against real nodes.

Four nodes; node 4 is removed and stopped; node 5 is added with node 4's Raft
and HTTP addresses (the same machine, a new key and a fresh data directory).
Its ledger starts from genesis, which still lists node 4 at that address: it
must start anyway (it used to fail with "config: peer 5 listed twice"), catch
up, become a voter, and commit writes like any other member.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import scaled, wait_for  # noqa: E402


def voters(nd):
    return sorted(p["id"] for p in nd.status()["peers"] if p.get("voter"))


def main():
    lib.require_built()
    c = lib.Cluster(4, name="readdress")
    try:
        c.start_all()
        leader = c.leader()
        old = next(nd for nd in reversed(c.nodes) if nd is not leader)
        rc, out, err = lib.run_cli("node", "remove", "--id", old.id, "--key", c.brand_key,
                                   "--node", leader.http, timeout=120)
        assert rc == 0 and "accepted" in out, (rc, out, err)
        rest = [nd for nd in c.nodes if nd is not old]
        wait_for(lambda: all(voters(nd) == sorted(x.id for x in rest) for nd in rest),
                 scaled(30), f"configuration without node {old.id}")
        old.stop()

        # node 5: node 4's machine (addresses), a new key, a fresh directory
        nid = len(c.nodes) + 1
        key = os.path.join(c.dir, f"node{nid}.key")
        pub = lib.txtool("key", key)[0][0]
        port_raft = int(old.raft.rsplit(":", 1)[1])
        new = lib.Node(c, nid, port_raft, old.http_port, key, pub)
        new.joined = True
        c.nodes.append(new)
        nonce = c.next_nonces(1)
        txid, tx = lib.txtool("node-add", c.genesis, c.brand_key, nonce, nid, "acme", new.raft,
                              new.http, pub, *([new.cert] if new.cert else []))[0]
        st, doc = leader.submit_until_definite(tx, scaled(30))
        assert st == 200 and doc.get("status") == "accepted", (st, doc)
        assert new.raft == old.raft and new.http == old.http
        new.start()
        members = sorted([x.id for x in rest] + [nid])
        wait_for(lambda: voters(leader) == members, scaled(60),
                 f"node {nid} a voter on {old.raft}")
        print(f"ok: node {nid} started on former node {old.id}'s address {new.raft} and votes")
        assert "listed twice" not in new.log_text()
        assert f"node {old.id} is listed at this node's address" in new.log_text(), \
            "the reuse path was not taken (did genesis change?)"

        txid, hexcbor = c.mint(["A1"], lot="A1")
        st, doc = new.submit_until_definite(hexcbor, scaled(30))
        assert st == 200 and doc.get("status") == "accepted", (st, doc)
        c.wait_tx_everywhere([txid], nodes=rest + [new])
        c.wait_same_head(nodes=rest + [new])
        print(f"ok: a write commits through node {nid}; heads match on {members}")
        for nd in rest + [new]:
            nd.stop()
        print("test_member_readdress: OK")
        return 0
    except Exception:
        c.dump_logs()
        raise
    finally:
        c.shutdown()


if __name__ == "__main__":
    sys.exit(main())
