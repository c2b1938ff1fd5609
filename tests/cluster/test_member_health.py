"""Membership health as the leader sees it, against three real nodes.

Every node runs with --log-format json, so the consensus lines must be JSON
objects with time and level too. With all members running, the leader's
/api/v1/status lists each peer up with its match index and lag, and /metrics
exports provena_raft_member_up{node=..} 1 for each. A follower stopped with
SIGTERM turns "up": false (member_up 0) within a few seconds, the leader logs
it silent (warn), and while it is down its lag grows in entries and in ms; once
restarted it comes back up, catches up (lag 0) and the leader logs it back.
Followers report no health (only the leader hears from every member).
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import scaled, wait_for  # noqa: E402


def peer(nd, pid):
    return next(p for p in nd.status()["peers"] if p["id"] == pid)


def metric(nd, name, node_id):
    st, body = nd.request("GET", "/metrics", accept="text/plain")
    assert st == 200, st
    text = body.decode() if isinstance(body, bytes) else str(body)
    m = re.search(r'^%s\{node="%d"\} (\S+)$' % (re.escape(name), node_id), text, re.M)
    return float(m.group(1)) if m else None


def json_lines(nd):
    out = []
    for line in nd.log_text().splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def commit(c, nodes, serial):
    txid, hexcbor = c.mint([serial], lot="H1")
    st, doc = nodes[0].submit_until_definite(hexcbor, scaled(30))
    assert st == 200 and doc.get("status") == "accepted", (st, doc)
    return txid


def main():
    lib.require_built()
    c = lib.Cluster(3, name="health", node_args=["--log-format", "json"])
    try:
        c.start_all()
        leader = c.leader()
        commit(c, c.nodes, "H0")
        ids = sorted(nd.id for nd in c.nodes)

        def all_up():
            ps = leader.status()["peers"]
            return sorted(p["id"] for p in ps if p.get("up")) == ids and \
                all(p["lag_entries"] == 0 for p in ps)
        wait_for(all_up, scaled(20), "every member up and caught up at the leader")
        for p in leader.status()["peers"]:
            for k in ("last_contact_ms", "match_index", "lag_entries", "lag_ms"):
                assert isinstance(p.get(k), int), (k, p)
            assert p["match_index"] >= 1, p
            assert metric(leader, "provena_raft_member_up", p["id"]) == 1, p
        follower = next(nd for nd in c.nodes if nd is not leader)
        assert all("up" not in p for p in follower.status()["peers"]), follower.status()
        assert metric(follower, "provena_raft_member_up", leader.id) is None
        print(f"ok: leader {leader.id} reports members {ids} up, lag 0; followers report none")

        # every line is JSON with time and level, the consensus lines included
        lines = json_lines(leader)
        cons = [x for x in lines if x.get("msg", "").startswith("consensus[")]
        assert cons, "no consensus line in the leader's JSON log"
        assert all(x.get("time") and x.get("level") for x in cons), cons[:3]
        print(f"ok: {len(cons)} consensus lines in the leader's log, each JSON with time+level")

        # ---- a follower goes silent ----------------------------------------------------
        gone = follower
        gone.stop()
        wait_for(lambda: peer(leader, gone.id)["up"] is False, scaled(20),
                 f"the leader to see member {gone.id} silent")
        p = peer(leader, gone.id)
        assert p["last_contact_ms"] >= 1000, p
        assert metric(leader, "provena_raft_member_up", gone.id) == 0
        rest = [nd for nd in c.nodes if nd is not gone]
        for i in range(3):
            commit(c, rest, f"H1{i}")
        wait_for(lambda: peer(leader, gone.id)["lag_entries"] >= 3, scaled(20),
                 f"member {gone.id}'s lag to grow")
        p = peer(leader, gone.id)
        assert p["lag_ms"] > 0, p
        assert metric(leader, "provena_raft_member_lag_entries", gone.id) >= 3
        silent = [x for x in json_lines(leader)
                  if f"member {gone.id} " in x.get("msg", "") and "silent" in x["msg"]]
        assert silent and silent[0]["level"] == "warn", silent
        print(f"ok: member {gone.id} stopped: up false after {p['last_contact_ms']} ms, "
              f"{p['lag_entries']} entries / {p['lag_ms']} ms behind, logged: {silent[0]['msg']}")

        # ---- and comes back --------------------------------------------------------------
        gone.start()
        wait_for(lambda: (lambda q: q["up"] and q["lag_entries"] == 0)(peer(leader, gone.id)),
                 scaled(30), f"member {gone.id} back and caught up")
        assert metric(leader, "provena_raft_member_up", gone.id) == 1
        assert peer(leader, gone.id)["lag_ms"] == 0
        back = [x for x in json_lines(leader)
                if f"member {gone.id} " in x.get("msg", "") and "back after" in x["msg"]]
        assert back and back[0]["level"] == "info", back
        print(f"ok: member {gone.id} back: {back[0]['msg']}")
        for nd in c.nodes:
            nd.stop()
        print("test_member_health: OK")
        return 0
    except Exception:
        c.dump_logs()
        raise
    finally:
        c.shutdown()


if __name__ == "__main__":
    sys.exit(main())
