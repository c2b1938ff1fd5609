"""Slow, lossy and reordering links, on real nodes in their own network
namespaces (tests/cluster/netns.py; skips without CAP_NET_ADMIN).

1. A follower F behind a bad link: 200 ms each way (400 ms round trip) and
   5 % of packets lost each way. A client streams RATE mints a second to the
   leader for STREAM_S seconds, one at a time. (TCP carries about 20 KB/s
   over such a link; unpaced, the leader made 80 blocks/s and F, replicating
   some 20 blocks/s, fell 5.4 s behind in 8 s and took 20 s to catch up.) Sampled every 0.25 s (F's height read from
   inside F's namespace, so the reading does not cross the bad link), F's lag
   is how long ago the leader first had a block F still lacks. Asserted: the
   lag stays under LAG_BOUND_S, F holds every block within CATCHUP_S after the
   stream stops, and F's link cost the cluster no election (same leader, same
   term).
2. Every link delayed 30 ms with 25 ms of jitter, 10 % of packets overtaking
   (reordering) and 1 % lost: the stream still commits, and once the links are
   clean the three heads are identical and every acknowledged tx is on all.
Prints the lags and catch-up time it measured.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
import netns  # noqa: E402
from lib import scaled, wait_for  # noqa: E402

STREAM_S = 8.0      # how long each phase's client submits
LAG_BOUND_S = 3.0   # F's worst lag behind the leader during the stream
CATCHUP_S = 10.0    # F's full catch-up once the stream stops
MIN_COMMITS = 20    # receipts phase 1's client must get
MIN_REORDERED = 5   # and phase 2's (about 2.5 a second here: each takes some 400 ms)
RATE = 10           # phase 1's submissions a second (one block each): what the bad link carries


class Stream(threading.Thread):
    """Submits mints in nonce order to one node, each waiting for its receipt,
    the same bytes again after anything but a receipt; until stopped."""

    def __init__(self, node, txs, rate=None):
        super().__init__(daemon=True)
        self.node, self.txs, self.rate = node, txs, rate
        self.acked, self.failures, self.stop_flag = [], [], False

    def run(self):
        t_next = time.monotonic()
        for txid, hexcbor in self.txs:
            if self.rate:
                t_next += 1.0 / self.rate
                time.sleep(max(0.0, t_next - time.monotonic()))
            while not self.stop_flag:
                try:
                    st, doc = self.node.submit_cbor(hexcbor)
                except OSError:
                    time.sleep(0.05)
                    continue
                if st == 200 and isinstance(doc, dict) and doc.get("status") == "accepted":
                    self.acked.append(txid)
                    break
                if st in (409, 422, 400):
                    self.failures.append((txid, st, doc))
                    break
                time.sleep(0.05)
            if self.stop_flag:
                return


def height(nd):
    return int(nd.head()["height"])


def slow_follower(c, net):
    leader = c.leader()
    slow = max((nd for nd in c.nodes if nd is not leader), key=lambda nd: nd.id)
    term0 = leader.status()["term"]
    net.shape(slow.id, delay=200, loss=5)
    cl = Stream(leader, c.mint_seq(1000, "SL", lot="SL"), rate=RATE)
    t0 = time.monotonic()
    cl.start()
    seen = []  # (time, leader height)
    lags = []
    while time.monotonic() - t0 < STREAM_S:
        seen.append((time.monotonic(), height(leader)))
        with net.inside(slow.id):
            t, h = time.monotonic(), height(slow)
        ahead = [ts for ts, lh in seen if lh > h]
        lags.append(t - ahead[0] if ahead else 0.0)
        time.sleep(0.25)
    cl.stop_flag = True
    cl.join(scaled(30))
    assert not cl.failures, cl.failures[:3]
    t_stop = time.monotonic()
    final = wait_for(lambda: (lambda h: h if h and all(
        height(nd) == h for nd in c.nodes if nd is not slow) else None)(height(leader)),
        scaled(10), "the leader's final height")
    with net.inside(slow.id):
        wait_for(lambda: height(slow) >= final, scaled(CATCHUP_S),
                 f"node {slow.id} catching up to height {final}", interval=0.1)
    catchup = time.monotonic() - t_stop
    st = leader.status()
    worst = max(lags)
    print(f"slow follower {slow.id} (200 ms each way, 5 % loss, {RATE} tx/s): "
          f"{len(cl.acked)} receipts, "
          f"height {final}; lag median {sorted(lags)[len(lags) // 2] * 1000:.0f} ms, "
          f"max {worst * 1000:.0f} ms over {len(lags)} samples; caught up "
          f"{catchup * 1000:.0f} ms after the stream stopped; term {term0} -> {st['term']}")
    assert len(cl.acked) >= MIN_COMMITS, f"only {len(cl.acked)} receipts"
    assert worst < scaled(LAG_BOUND_S), f"node {slow.id} lagged {worst:.1f}s"
    assert st["role"] == "leader" and st["term"] == term0, \
        f"the slow link cost an election: term {term0} -> {st['term']}, role {st['role']}"
    net.unshape(slow.id)
    return cl.acked


def reordering(c, net):
    for nd in c.nodes:
        net.shape(nd.id, delay=30, jitter=25, reorder=10, loss=1)
    leader = c.leader()
    cl = Stream(leader, c.mint_seq(5000, "RO", lot="RO"))
    cl.start()
    time.sleep(STREAM_S)  # the stream's length; what it achieved is asserted below
    cl.stop_flag = True
    cl.join(scaled(30))
    assert not cl.failures, cl.failures[:3]
    stats = net.stats()
    for nd in c.nodes:
        net.unshape(nd.id)
    print(f"reordering links: {len(cl.acked)} receipts in {STREAM_S:.0f} s; switch {stats}")
    assert len(cl.acked) >= MIN_REORDERED, f"only {len(cl.acked)} receipts"
    return cl.acked


def scenario(c, net):
    acked = slow_follower(c, net)
    acked += reordering(c, net)
    key = c.wait_same_head(nodes=c.nodes, timeout=scaled(30))
    c.wait_tx_everywhere(acked, nodes=c.nodes)
    print(f"no divergence: head {key[0]} on all 3, {len(acked)} acknowledged txs on all 3")


def main():
    return netns.run("test_slow_link", "slowlink", scenario)


if __name__ == "__main__":
    sys.exit(main())
