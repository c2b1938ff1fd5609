"""A node whose operator is revoked is flagged, against three real nodes.

Node 3 is operated by a carrier, not the brand. Before: every status says
operator_revoked false and /metrics counts 0. After `provena participant
revoke` of that carrier: node 3's own status and /metrics say its operator is
revoked, and every node's peer list flags node 3 (what docs/OPERATIONS.md
tells the operator to act on: remove the node or move it to another operator).
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import scaled, wait_for  # noqa: E402


def gauge(nd, name):
    st, body = nd.request("GET", "/metrics", accept="text/plain")
    assert st == 200, st
    text = body.decode() if isinstance(body, bytes) else str(body)
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


def flagged(nd, nid):
    return next(p for p in nd.status()["peers"] if p["id"] == nid)["operator_revoked"]


def main():
    lib.require_built()
    c = lib.Cluster(3, name="operator")
    try:
        carrier_key = os.path.join(c.dir, "carrier.key")
        carrier_pub = lib.txtool("key", carrier_key)[0][0]
        with open(c.genesis) as f:
            doc = json.load(f)
        doc["participants"].append({"id": "carrier-x", "name": "Carrier X", "role": "carrier",
                                    "pub": carrier_pub})
        doc["nodes"][2]["operator"] = "carrier-x"
        with open(c.genesis, "w") as f:
            json.dump(doc, f, indent=1)
        c.start_all()
        leader = c.leader()
        op = c.nodes[2]
        st = op.status()
        assert st["operator"] == "carrier-x" and st["operator_revoked"] is False, st
        assert all(not p["operator_revoked"] for nd in c.nodes for p in nd.status()["peers"])
        assert gauge(op, "provena_node_operator_revoked") == 0
        assert gauge(leader, "provena_raft_members_operator_revoked") == 0
        print("ok: before: no operator revoked, node 3 operated by carrier-x")

        rc, out, err = lib.run_cli("participant", "revoke", "carrier-x", "--key", c.brand_key,
                                   "--node", leader.http, timeout=120)
        assert rc == 0 and "accepted" in out, (rc, out, err)
        wait_for(lambda: op.status()["operator_revoked"] is True, scaled(30),
                 "node 3 to flag its own operator revoked")
        wait_for(lambda: all(flagged(nd, op.id) for nd in c.nodes), scaled(30),
                 "every node to flag node 3 in its peer list")
        assert not any(flagged(nd, c.nodes[0].id) for nd in c.nodes)
        wait_for(lambda: "operating this node is revoked" in op.log_text(), scaled(20),
                 "node 3 to log that its operator is revoked")
        assert gauge(op, "provena_node_operator_revoked") == 1
        assert gauge(leader, "provena_raft_members_operator_revoked") == 1
        # node 1 is the brand's own (the leader may be node 3 itself)
        assert gauge(c.nodes[0], "provena_node_operator_revoked") == 0
        print("ok: after revoke: node 3 flags itself (status, metric), every peer list flags "
              "node 3, provena_raft_members_operator_revoked 1")
        for nd in c.nodes:
            nd.stop()
        print("test_member_operator: OK")
        return 0
    except Exception:
        c.dump_logs()
        raise
    finally:
        c.shutdown()


if __name__ == "__main__":
    sys.exit(main())
