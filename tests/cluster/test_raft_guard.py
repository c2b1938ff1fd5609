#!/usr/bin/env python3
"""Cluster test: forged Raft frames against real provena-node processes.

Every frame is made by tests/cluster/frametool (encoded by consensus/cons_codec.c,
so it is what a peer could really send) and sent to a node's Raft port. The
network runs on mutual TLS, and a frame "from" a member is sent with that
member's own TLS key and HELLO: the guard is tested against authenticated
peers, the case TLS cannot help with. A frame from a stranger (id 99, a key
no one pinned) is refused at the handshake (frametool exit 3). On a
three-node network, in order:
  1. the AppendEntries whose entry is a configuration libraft cannot decode
     (it made libraft free the entries' batch twice and killed the follower):
     the follower lives, its term does not move, it keeps committing;
  2. a command entry forged by a follower (and by a stranger) at the current
     term: never taken, so the leader's real block at that index lands on
     every node and the heads stay identical;
  3. a configuration {1 at a wrong address, 99} "from the leader" (id and
     address claimed): withheld, the membership is unchanged, and the log says
     why;
  4. a term of 1,000,000 (RequestVote and AppendEntries, from a voter):
     refused, the healthy leader stays leader, no term moves;
  5. a RequestVote with term 2^64-2 and the disrupt flag to every node, then
     the leader is killed: a new leader is elected, terms stay small and
     /api/v1/status never shows a negative term;
  6. frames of another network (another chain id) pushing a higher term:
     refused and logged, no term moves; the same frame with this network's
     chain id does move the term (the check is what stops it).
And on a one-node network:
  7. a forged configuration change (from a stranger, and claiming the node's
     own id) is refused: membership, leadership and term unchanged.
Every process is killed at the end, pass or fail.
"""

import os
import subprocess
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import scaled, wait_for  # noqa: E402

FRAMETOOL = os.path.join(lib.BUILD, "tests", "cluster", "frametool")
STRANGER = (99, "tcp://127.0.0.1:1")  # an id and address no genesis names


def stranger_key(c):
    path = os.path.join(c.dir, "stranger.tls")
    if not os.path.exists(path):
        lib.txtool("tls-key", path)
    return path


def frame(to, chain, sender, *msg):
    """Sends one frame; `sender` is (id, raft address) as the frame claims it.
    On TLS a member sender's frame goes out under that member's key and
    HELLO; a stranger's handshake must be refused."""
    env = dict(os.environ)
    member = next((nd for nd in to.cluster.nodes if nd.id == sender[0]), None)
    if to.cluster.raft_tls:
        env["FRAMETOOL_TLS_TRUST"] = to.cert
        env["FRAMETOOL_TLS_KEY"] = member.tls_key if member else stranger_key(to.cluster)
        env["FRAMETOOL_HELLO"] = f"{sender[0]}:{to.id}"
    rc = subprocess.run([FRAMETOOL, "send", to.raft, chain, str(sender[0]), sender[1],
                         *map(str, msg)], timeout=30, env=env).returncode
    want = 0 if member or not to.cluster.raft_tls else 3
    assert rc == want, f"frametool from {sender} to node {to.id}: exit {rc}, expected {want}"


def conf_hex(*servers):
    out = subprocess.run([FRAMETOOL, "conf", *servers], check=True, capture_output=True,
                         text=True, timeout=30).stdout
    return out.strip()


def chain_of(c):
    return lib.txtool("id", c.genesis)[0][0]


def who(nd):
    return (nd.id, nd.raft)


def status_int(nd, key):
    v = nd.status()[key]
    assert isinstance(v, int) and v >= 0, f"node {nd.id} {key}: {v!r}"
    return v


def terms(c):
    return {nd.id: status_int(nd, "term") for nd in c.alive()}


def commit_one(c, serial, nodes=None):
    """A real mint through the leader, on every live node, heads identical."""
    txid, cbor = c.mint([serial])
    st, doc = c.leader().submit_cbor(cbor)
    assert st == 200, f"submit: {st} {doc}"
    c.wait_tx_everywhere([txid], nodes=nodes)
    c.wait_same_head(nodes=nodes)
    return txid


def quiet(c, seconds=1.2):
    """Lets frames be processed (and a refusal's log line be written)."""
    time.sleep(scaled(seconds))
    for nd in c.nodes:
        if nd.proc is not None:
            assert nd.alive(), f"node {nd.id} died:\n{nd.log_tail()}"


def roles(c):
    ld = c.leader()
    fs = [nd for nd in c.alive() if nd is not ld]
    return ld, fs


def scenario_double_free_frame(c):
    ld, (f, g) = roles(c)
    chain = chain_of(c)
    t0, ci = status_int(f, "term"), status_int(f, "commit_index")
    # the exact frame: the leader's id and address, the current term, the
    # follower's last entry as previous, one configuration entry "zz"
    for sender in (who(ld), STRANGER):
        frame(f, chain, sender, "append", t0, ci, t0, ci, f"{t0}:g:7a7a")
    quiet(c)
    assert "double free" not in f.log_text()
    assert "malformed frame(s)" in f.log_text(), f.log_tail()
    assert status_int(f, "term") == t0
    commit_one(c, "guard-df")
    print(f"  follower {f.id} alive at term {t0}, still committing")


def scenario_forged_command(c):
    ld, (f, g) = roles(c)
    chain = chain_of(c)
    t0, ci = status_int(f, "term"), status_int(f, "commit_index")
    # a follower (id and address its own) and a stranger claim index ci+1
    for sender in (who(g), STRANGER):
        frame(f, chain, sender, "append", t0, ci, t0, ci, f"{t0}:c:deadbeefdeadbeef")
        frame(f, chain, sender, "append", t0 + 1, ci, t0, ci, f"{t0 + 1}:c:deadbeefdeadbeef")
    quiet(c)
    # the leader's own block for ci+1 must be the one node f applies
    commit_one(c, "guard-cmd")
    assert set(terms(c).values()) == {t0}, terms(c)
    assert "refused AppendEntries" in f.log_text(), f.log_tail()
    print(f"  forged entries refused; the leader's block landed on node {f.id}")


def scenario_forged_configuration(c):
    ld, (f, g) = roles(c)
    chain = chain_of(c)
    t0, ci = status_int(f, "term"), status_int(f, "commit_index")
    peers0 = sorted((p["id"], p["raft"], p["voter"]) for p in f.status()["peers"])
    bogus = conf_hex("1=tcp://127.0.0.1:9=v", "99=tcp://127.0.0.1:1=v")
    frame(f, chain, who(ld), "append", t0, ci, t0, ci, f"{t0}:g:{bogus}")
    quiet(c)
    peers = sorted((p["id"], p["raft"], p["voter"]) for p in f.status()["peers"])
    assert peers == peers0, (peers0, peers)
    assert "not explained by the ledger's membership" in f.log_text(), f.log_tail()
    commit_one(c, "guard-conf")
    print(f"  configuration withheld; peers of node {f.id} unchanged: {[p[0] for p in peers]}")


def scenario_term_million(c):
    ld, (f, g) = roles(c)
    chain = chain_of(c)
    before = terms(c)
    t0, ci = status_int(ld, "term"), status_int(ld, "commit_index")
    for to in (ld, f):
        frame(to, chain, who(g), "vote", 1000000, ci, t0)
        frame(to, chain, who(g), "append", 1000000, ci, t0, ci)
        frame(to, chain, who(g), "aer", 1000000, 0, ci)
    quiet(c, 2.0)
    assert c.leader() is ld, "the healthy leader was deposed"
    assert terms(c) == before, (before, terms(c))
    print(f"  leader {ld.id} kept term {t0}")


def scenario_term_max_then_kill(c):
    ld, (f, g) = roles(c)
    chain = chain_of(c)
    ci = status_int(ld, "commit_index")
    t0 = status_int(ld, "term")
    for to in c.nodes:
        if to is not g:
            frame(to, chain, who(g), "vote", 2**64 - 2, ci, t0, "disrupt")
    quiet(c)
    ts = terms(c)
    assert all(t < 2**48 for t in ts.values()), ts
    ld.kill()
    t_kill = time.monotonic()
    new = c.leader(nodes=[f, g], timeout=scaled(20))
    print(f"  leader {ld.id} killed; leader {new.id} elected after "
          f"{time.monotonic() - t_kill:.2f}s, terms {terms(c)}")
    ld.start()
    c.leader()
    commit_one(c, "guard-max")


def scenario_other_network(c):
    ld, (f, g) = roles(c)
    chain = chain_of(c)
    other = ("%064x" % (int(chain, 16) ^ 1))
    before = terms(c)
    t0, ci = status_int(ld, "term"), status_int(ld, "commit_index")
    for to in c.nodes:
        frame(to, other, who(g), "vote", t0 + 5, ci, t0)
    frame(f, other, who(ld), "append", t0 + 5, ci, t0, ci)
    quiet(c, 1.5)
    assert terms(c) == before, (before, terms(c))
    for nd in c.nodes:
        wait_for(lambda: "from another network" in nd.log_text(), scaled(5),
                 f"node {nd.id} logging the other network's frames")
    # control: the very frame with this network's chain id moves the term
    frame(f, chain, who(ld), "append", t0 + 5, ci, t0, ci)
    wait_for(lambda: status_int(f, "term") >= t0 + 5, scaled(5), "the control frame's term")
    c.leader()
    print(f"  other network refused and logged on all nodes; terms stayed {before}")


def scenario_one_node(_c):
    c = lib.Cluster(1, "guard1")
    try:
        c.start_all()
        nd = c.leader()
        chain = chain_of(c)
        t0, ci = status_int(nd, "term"), status_int(nd, "commit_index")
        peers0 = [(p["id"], p["raft"]) for p in nd.status()["peers"]]
        bogus = conf_hex("1=tcp://127.0.0.1:9=v", "99=tcp://127.0.0.1:1=v")
        for sender, term in ((STRANGER, t0), (STRANGER, t0 + 1), ((1, nd.raft), t0 + 1)):
            frame(nd, chain, sender, "append", term, ci, t0, ci, f"{term}:g:{bogus}")
        quiet(c)
        assert [(p["id"], p["raft"]) for p in nd.status()["peers"]] == peers0
        assert status_int(nd, "term") == t0
        assert c.leader() is nd
        commit_one(c, "guard-one")
        print(f"  one-node network kept {peers0} at term {t0}")
    finally:
        c.shutdown()


SCENARIOS = [
    ("the double-free frame", scenario_double_free_frame, 60),
    ("a forged command entry from a non-leader", scenario_forged_command, 60),
    ("a forged configuration from the leader's id", scenario_forged_configuration, 60),
    ("term 1,000,000 against a healthy leader", scenario_term_million, 60),
    ("term 2^64-2 with disrupt, then the leader killed", scenario_term_max_then_kill, 90),
    ("frames of another network", scenario_other_network, 60),
    ("a forged configuration on a one-node network", scenario_one_node, 60),
]


def main():
    for path in (lib.NODE_BIN, lib.TXTOOL, FRAMETOOL):
        if not os.path.exists(path):
            print(f"missing {path}: build first")
            return 1
    c = lib.Cluster(3, "guard")
    failed = False
    try:
        c.start_all()
        c.leader()
        for name, fn, budget in SCENARIOS:
            print(f"* {name}", flush=True)
            timer = threading.Timer(scaled(budget), lambda n=name: (
                print(f"scenario '{n}' exceeded its time budget", flush=True),
                c.dump_logs(), lib._kill_all(), os._exit(1)))
            timer.daemon = True
            timer.start()
            t0 = time.monotonic()
            try:
                fn(c)
            finally:
                timer.cancel()
            print(f"  ok ({time.monotonic() - t0:.1f}s)", flush=True)
    except Exception:
        failed = True
        traceback.print_exc()
        c.dump_logs()
    finally:
        c.shutdown(keep=failed)
    if failed:
        print(f"FAILED (work dir kept: {c.dir})")
        return 1
    print("PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
