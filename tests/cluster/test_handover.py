"""Leader handover at stop: how long a client sees no commit, against three
real nodes, over several runs (HANDOVER_RUNS, default 5).

Each run: a client submits a steady stream of mints (one at a time, each
waiting for its receipt, the same bytes again after anything but a receipt)
to a follower that stays up; the leader gets SIGTERM. A leader that stops
hands leadership over (raft_transfer) before it closes, so the gap measured is
the longest time between two consecutive receipts the client got around the
stop, and the "leaderless" time is from SIGTERM until the two others agree on
a new leader. The stopped node is started again and catches up before the
next run. Prints each run and the maximum; asserts the bound a client may
see (1 s, ten times the gaps measured here on a quiet machine;
scaled by PROVENA_TIME_SCALE): before stopping leaders kept hearing their
followers, every run here took 1.2-2.1 s. The figures
measured go to docs/OPERATIONS.md.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import scaled, wait_for  # noqa: E402

RUNS = int(os.environ.get("HANDOVER_RUNS", "5"))
BOUND_S = 1.0


class Client(threading.Thread):
    """Submits txs in order to one node; records when each receipt came."""

    def __init__(self, node, txs):
        super().__init__(daemon=True)
        self.node, self.txs = node, txs
        self.times, self.failures, self.stop_flag = [], [], False

    def run(self):
        for txid, hexcbor in self.txs:
            while not self.stop_flag:
                try:
                    st, doc = self.node.submit_cbor(hexcbor)
                except OSError:
                    time.sleep(0.01)
                    continue
                if st == 200 and isinstance(doc, dict) and doc.get("status") == "accepted":
                    self.times.append(time.monotonic())
                    break
                if st in (409, 422, 400):
                    self.failures.append((txid, st, doc))
                    break
                time.sleep(0.01)  # no leader / stopping / timeout: the same bytes again
            if self.stop_flag:
                return


def one_run(c, k):
    leader = c.leader()
    target = next(nd for nd in c.nodes if nd is not leader)
    others = [nd for nd in c.nodes if nd is not leader]
    txs = c.mint_seq(3000, f"HO{k}X", lot=f"HO{k}")
    cl = Client(target, txs)
    cl.start()
    wait_for(lambda: len(cl.times) >= 50, scaled(30), "steady traffic before the stop")
    t_stop = time.monotonic()
    leader.proc.send_signal(15)
    new = None
    while time.monotonic() - t_stop < scaled(30):
        try:
            sts = [nd.status() for nd in others]
        except (OSError, ValueError):
            continue
        lids = {lib.leader_of(s) for s in sts}
        if len(lids) == 1 and leader.id not in lids and 0 not in lids:
            lid = lids.pop()
            if any(s["id"] == lid and s["role"] == "leader" for s in sts):
                new = lid
                break
        time.sleep(0.005)
    leaderless = time.monotonic() - t_stop
    assert new is not None, "no new leader"
    t_after = time.monotonic()
    wait_for(lambda: sum(1 for t in cl.times if t > t_after) >= 50, scaled(30),
             "steady traffic after the stop")
    cl.stop_flag = True
    cl.join(scaled(30))
    rc = leader.proc.wait(scaled(30))
    assert rc == 0, f"leader {leader.id} exited {rc}:\n{leader.log_tail()}"
    leader.proc = None
    assert not cl.failures, cl.failures[:3]
    ts = [t for t in cl.times if t >= t_stop - 1.0]
    window = [t_stop] + [t for t in ts if t > t_stop]
    gap = max(b - a for a, b in zip(window, window[1:]))
    log = leader.log_text()
    handed = "leadership transferred" in log or "transfer" in log
    leader.start()
    c.wait_same_head(nodes=c.nodes, timeout=scaled(60))
    return gap, leaderless, new, leader.id, handed


def main():
    lib.require_built()
    c = lib.Cluster(3, name="handover")
    try:
        c.start_all()
        gaps, frees = [], []
        for k in range(RUNS):
            gap, leaderless, new, old, _ = one_run(c, k)
            gaps.append(gap)
            frees.append(leaderless)
            print(f"run {k + 1}: leader {old} stopped, node {new} leads after "
                  f"{leaderless * 1000:.0f} ms; longest time without a receipt: "
                  f"{gap * 1000:.0f} ms")
        print(f"handover over {RUNS} runs: max gap {max(gaps) * 1000:.0f} ms "
              f"(median {sorted(gaps)[len(gaps) // 2] * 1000:.0f} ms), "
              f"max leaderless {max(frees) * 1000:.0f} ms")
        assert max(gaps) < scaled(BOUND_S), f"a client saw {max(gaps):.2f}s without a commit"
        for nd in c.nodes:
            nd.stop()
        print("test_handover: OK")
        return 0
    except Exception:
        c.dump_logs()
        raise
    finally:
        c.shutdown()


if __name__ == "__main__":
    sys.exit(main())
