#!/usr/bin/env python3
"""Links that die without closing: a follower's connections black-holed for
good, on real nodes in their own network namespaces (tests/cluster/netns.py;
skips without CAP_NET_ADMIN).

Three nodes, mutual-TLS Raft links. After a few commits, every TCP connection
a follower F has open is black-holed by the switch (`stale`: no reset, no
error, packets vanish) while connections opened later pass: what a peer sees
when a middlebox forgets its connections or a host comes back without them.
nng never redials such a connection (it sees no error), so only the nodes'
own link watch (consensus/cons_net.c, peers_watch: a request left without
any reply for CONS_NET_REPLY_MS rebuilds that peer's dialer) brings F back.
Asserted, within RECOVER_BOUND_S: txs committed after the fault reach F,
all three show one leader and identical heads, the leader hears F again (F
up and caught up in its status, and still so 1.5 s later: F's own dialer
was rebuilt too, not only the leader's) and some node's log says it rebuilt
a connection (in its log and its status's raft_links.links_rebuilt). Prints the times from the fault to F's catch-up and to the
leader hearing it.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
import netns  # noqa: E402
from lib import scaled  # noqa: E402

BATCH = 5
RECOVER_BOUND_S = 20.0  # the watch waits 3 s for a reply; election and catch-up follow
REBUILT = "sent no reply for"  # the leader's log line when it rebuilds a dialer


def scenario(c, net):
    ld = c.leader()
    f = next(nd for nd in c.nodes if nd is not ld)
    acked = lib.submit_each(ld, c.mint_seq(BATCH, "SA", lot="SA"))
    c.wait_tx_everywhere(acked)
    marks = {nd.id: nd.log_text().count(REBUILT) for nd in c.nodes}
    counted = {nd.id: nd.status()["raft_links"]["links_rebuilt"] for nd in c.nodes}

    net.stale(f.id)
    t0 = time.monotonic()
    # the leader may change meanwhile (F campaigns unheard, then is heard):
    # submit through whichever node leads once one is agreed
    ld = c.leader(timeout=scaled(RECOVER_BOUND_S))
    late = lib.submit_each(ld, c.mint_seq(BATCH, "SB", lot="SB", nodes=[ld]))
    c.wait_tx_everywhere(late, nodes=[f], timeout=scaled(RECOVER_BOUND_S))
    caught_s = time.monotonic() - t0
    c.leader(nodes=c.nodes, timeout=scaled(RECOVER_BOUND_S))
    c.wait_same_head(nodes=c.nodes, timeout=scaled(RECOVER_BOUND_S))
    c.wait_tx_everywhere(acked + late, nodes=c.nodes)
    # both directions work again: the leader hears F (its acks), not only F the leader
    ld = c.leader(nodes=c.nodes)

    def f_heard():
        st = ld.status()
        peer = next((p for p in st["peers"] if p["id"] == f.id), {})
        return peer.get("up") and peer.get("match_index", 0) >= st["commit_index"]

    lib.wait_for(f_heard, scaled(RECOVER_BOUND_S), f"the leader hearing node {f.id}")
    heard_s = time.monotonic() - t0
    time.sleep(scaled(1.5))
    assert f_heard(), f"node {f.id} went silent again at the leader"
    rebuilt = {nd.id: nd.log_text().count(REBUILT) - marks[nd.id] for nd in c.nodes}
    in_status = {nd.id: nd.status()["raft_links"]["links_rebuilt"] - counted[nd.id]
                 for nd in c.nodes}
    print(f"node {f.id}'s connections black-holed: it has the {BATCH} txs committed "
          f"after that {caught_s * 1000:.0f} ms later, the leader hears it again after "
          f"{heard_s * 1000:.0f} ms; connections rebuilt per node: {in_status} (status), "
          f"{rebuilt} (log lines of unanswered requests)")
    assert caught_s < scaled(RECOVER_BOUND_S), f"catch-up took {caught_s:.1f}s"
    assert sum(rebuilt.values()) > 0, "no node says it rebuilt a connection"
    assert all(in_status[k] >= rebuilt[k] for k in rebuilt), (in_status, rebuilt)
    st = net.stats()
    print(f"switch: {st}")
    assert st["stale"] > 0, "the switch black-holed no packet: the fault never happened"


def main():
    return netns.run("test_stale_link", "stale", scenario)


if __name__ == "__main__":
    sys.exit(main())
