#!/usr/bin/env python3
"""Cluster test: the Raft port over mutual TLS, with keys pinned by the ledger.

A three-node network on tls+tcp:// (keys pinned in genesis). A client made by
tests/cluster/frametool tries to push the term up (an AppendEntries "from the
leader" at term + 5, which moves every term when it is taken: the control at
the end of scenario 2 shows it does) and the network's terms must not move:
  1. a client without a certificate, with a key nobody pinned, and with the
     pinned key of another network's node: each refused at the handshake
     (frametool exit 3);
  2. a member's own key: frames sent before a HELLO are dropped; a HELLO
     claiming another member's id, one naming another network's chain id and
     one addressed to another node are refused; after a good HELLO, a frame
     naming another sender is refused; then the control: the same key with a
     good HELLO as itself moves the term;
  3. rotation: node.rotate pins a new key for node 2; the old key is refused at
     the handshake once the rotation is committed (no restart anywhere); node 2
     picks the new key file up from disk and commits again, same process;
  4. removal: node.remove 3; node 3's key is refused (its HELLO; the handshake
     too once a later change restarts the listener) and the remaining nodes'
     terms do not move while node 3 keeps running.
Every process is killed at the end, pass or fail.
"""

import os
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import scaled, wait_for  # noqa: E402

FRAMETOOL = os.path.join(lib.BUILD, "tests", "cluster", "frametool")
HANDSHAKE_REFUSED = 3  # frametool's exit code when the connection fails


def chain_of(c):
    return lib.txtool("id", c.genesis)[0][0]


def terms(nodes):
    return {nd.id: nd.status()["term"] for nd in nodes}


def push(to, chain, sender_id, term, ci, t0, key=None, hello=None, hello_chain=None,
         trust=True):
    """frametool: an AppendEntries from sender_id at `term` to node `to`;
    returns frametool's exit code."""
    env = dict(os.environ)
    for k in ("FRAMETOOL_TLS_KEY", "FRAMETOOL_HELLO", "FRAMETOOL_HELLO_CHAIN"):
        env.pop(k, None)
    if trust:
        env["FRAMETOOL_TLS_TRUST"] = to.cert
    if key:
        env["FRAMETOOL_TLS_KEY"] = key
    if hello:
        env["FRAMETOOL_HELLO"] = hello
    if hello_chain:
        env["FRAMETOOL_HELLO_CHAIN"] = hello_chain
    addr = next(nd.raft for nd in to.cluster.nodes if nd.id == sender_id)
    args = [FRAMETOOL, "send", to.raft, chain, sender_id, addr, "append", term, ci, t0, ci]
    p = subprocess.run([str(a) for a in args], env=env, timeout=30, capture_output=True)
    if p.returncode not in (0, HANDSHAKE_REFUSED):  # say why, for the failure's message
        print(f"  frametool exit {p.returncode}: {p.stderr.decode(errors='replace').strip()}")
    return p.returncode


def settle(c, nodes, seconds=1.5):
    time.sleep(scaled(seconds))
    for nd in nodes:
        assert nd.alive(), f"node {nd.id} died:\n{nd.log_tail()}"


def commit_one(c, serial, nodes):
    txid, cbor = c.mint([serial])
    st, doc = c.leader(nodes=nodes).submit_cbor(cbor)
    assert st == 200, f"submit: {st} {doc}"
    c.wait_tx_everywhere([txid], nodes=nodes)
    return txid


def members(nd):
    return sorted(p["id"] for p in nd.status()["peers"])


def submit_gov(c, tx, nodes):
    """Submits through the leader (any node still a member) and waits until
    the transaction is applied on `nodes`."""
    txid, cbor = tx
    st, doc = c.leader().submit_cbor(cbor)
    rc = doc.get("receipt", doc) if isinstance(doc, dict) else {}
    assert st == 200 and rc.get("code", rc.get("status")) in (None, "ok", "accepted"), \
        f"{st} {doc}"
    c.wait_tx_everywhere([txid], nodes=nodes)


def scenario_strangers(c, other):
    ld = c.leader()
    f = next(nd for nd in c.nodes if nd is not ld)
    chain = chain_of(c)
    before = terms(c.nodes)
    t0, ci = before[f.id], f.status()["commit_index"]
    stranger = os.path.join(c.dir, "stranger.tls")
    lib.txtool("tls-key", stranger)
    cases = [("no certificate", None), ("a key nobody pinned", stranger),
             ("another network's pinned key", other.nodes[0].tls_key)]
    for what, key in cases:
        for to in c.nodes:
            rc = push(to, chain, ld.id, t0 + 5, ci, t0, key=key, hello=f"{ld.id}:{to.id}"
                      if key else None)
            assert rc == HANDSHAKE_REFUSED, f"{what} to node {to.id}: frametool exit {rc}"
        print(f"  {what}: handshake refused by every node")
    settle(c, c.nodes)
    assert terms(c.nodes) == before, (before, terms(c.nodes))
    print(f"  terms unchanged: {before}")


def scenario_hello(c, other):
    ld = c.leader()
    f, g = [nd for nd in c.nodes if nd is not ld]
    chain = chain_of(c)
    before = terms(c.nodes)
    t0, ci = before[f.id], f.status()["commit_index"]
    counted = f.status()["raft_links"]
    lies = [
        ("no HELLO", dict(key=ld.tls_key)),
        ("a HELLO claiming the leader's id with node %d's key" % g.id,
         dict(key=g.tls_key, hello=f"{ld.id}:{f.id}")),
        ("a HELLO of another network", dict(key=ld.tls_key, hello=f"{ld.id}:{f.id}",
                                            hello_chain=chain_of(other))),
        ("a HELLO addressed to another node", dict(key=ld.tls_key, hello=f"{ld.id}:{g.id}")),
    ]
    for what, kw in lies:
        rc = push(f, chain, ld.id, t0 + 5, ci, t0, **kw)
        assert rc == 0, f"{what}: frametool exit {rc} (the handshake should pass)"
        settle(c, c.nodes, 0.5)
        assert terms(c.nodes) == before, (what, before, terms(c.nodes))
        print(f"  {what}: frame dropped, terms unchanged")
    # a good HELLO as g, then a frame that names the leader
    rc = push(f, chain, ld.id, t0 + 5, ci, t0, key=g.tls_key, hello=f"{g.id}:{f.id}")
    assert rc == 0
    settle(c, c.nodes)
    assert terms(c.nodes) == before, ("wrong sender", before, terms(c.nodes))
    print("  a frame naming another sender than its HELLO: dropped, terms unchanged")
    wait_for(lambda: "TLS: refused" in f.log_text(), scaled(5), "node f logging the refusals")
    text = f.log_text()
    assert "HELLO(s)" in text and "before a HELLO" in text, f.log_tail()
    # the same refusals in the status and /metrics: 3 HELLOs (the other network's
    # HELLO is a frame of another network), the frame without one, the wrong sender
    links = f.status()["raft_links"]
    grew = {k: links[k] - counted[k] for k in links if k != "tls"}
    assert links["tls"] and grew["hellos_refused"] >= 2 and grew["frames_unauthenticated"] >= 1 \
        and grew["frames_wrong_sender"] == 1 and grew["frames_other_network"] >= 1, grew
    st, body = f.request("GET", "/metrics")
    metrics = body.decode() if isinstance(body, bytes) else str(body)
    assert st == 200 and f"provena_raft_hellos_refused_total {links['hellos_refused']}" in \
        metrics, metrics[-2000:]
    print(f"  counted in status raft_links and /metrics: {grew}")
    # control: the same frame with the leader's key and a good HELLO is taken
    rc = push(f, chain, ld.id, t0 + 5, ci, t0, key=ld.tls_key, hello=f"{ld.id}:{f.id}")
    assert rc == 0
    wait_for(lambda: f.status()["term"] >= t0 + 5, scaled(5), "the control frame's term")
    c.leader()
    print(f"  control: with the leader's key and HELLO the term moved to {f.status()['term']}")


def scenario_rotation(c):
    nd2 = c.nodes[1]
    others = [nd for nd in c.nodes if nd is not nd2]
    chain = chain_of(c)
    pid = nd2.proc.pid
    old_key = os.path.join(c.dir, "node2-old.tls")
    with open(nd2.tls_key) as src, open(os.open(old_key, os.O_WRONLY | os.O_CREAT, 0o600),
                                             "w") as dst:
        dst.write(src.read())
    t0 = c.nodes[0].status()["term"]
    ci = c.nodes[0].status()["commit_index"]
    # before: the old key completes a handshake with node 1
    assert push(c.nodes[0], chain, 2, t0, ci, t0, key=old_key, hello=f"2:{c.nodes[0].id}") == 0
    new_key = os.path.join(c.dir, "node2-new.tls")
    new_cert = lib.txtool("tls-key", new_key)[0][0]
    nonce = c.next_nonces(1)
    tx = lib.txtool("node-rotate", c.genesis, c.brand_key, nonce, 2, new_cert)[0]
    submit_gov(c, tx, others)
    wait_for(lambda: push(c.nodes[0], chain, 2, t0, ci, t0, key=old_key,
                          hello=f"2:{c.nodes[0].id}") == HANDSHAKE_REFUSED,
             scaled(10), "node 1 refusing node 2's old key")
    print("  after node.rotate: node 2's old key refused at the handshake by node 1")
    # node 2's operator installs the new key; node 2 reloads it by itself
    os.replace(new_key, nd2.tls_key)
    wait_for(lambda: "now using its key" in nd2.log_text(), scaled(10),
             "node 2 reloading its key file")
    commit_one(c, "tls-rot", c.nodes)
    assert nd2.proc.pid == pid and nd2.alive(), "node 2 was restarted"
    nd2.cert = new_cert
    print("  node 2 took its new key from disk (same process) and commits again")


def scenario_removal(c):
    nd3 = c.nodes[2]
    rest = c.nodes[:2]
    chain = chain_of(c)
    nonce = c.next_nonces(1)
    tx = lib.txtool("node-remove", c.genesis, c.brand_key, nonce, 3)[0]
    submit_gov(c, tx, rest)
    ld = c.leader(nodes=rest)
    t0, ci = ld.status()["term"], ld.status()["commit_index"]
    # once the removal is applied the key is no longer pinned: its HELLO is
    # refused (a removal alone does not restart the listener, so the handshake
    # itself may still complete until a later node.add or rotation)
    wait_for(lambda: all(f"{nd3.id}" not in str(members(nd)) for nd in rest), scaled(10),
             "node 3 out of the configuration")
    time.sleep(scaled(1.5))  # the pins follow the ledger within a second
    marks = {to.id: to.log_text().count("TLS: refused") for to in rest}
    for to in rest:
        rc = push(to, chain, 3, t0 + 5, ci, t0, key=nd3.tls_key, hello=f"3:{to.id}")
        assert rc in (0, HANDSHAKE_REFUSED), f"frametool exit {rc}"
        if rc == 0:
            wait_for(lambda: to.log_text().count("TLS: refused") > marks[to.id], scaled(5),
                     f"node {to.id} refusing the removed node's HELLO")
    before = terms(rest)
    settle(c, rest, 3.0)  # node 3 still runs and would campaign
    assert terms(rest) == before, (before, terms(rest))
    commit_one(c, "tls-rm", rest)
    print(f"  removed node 3's HELLO refused by nodes 1 and 2; their terms stayed {before}")


def main():
    for path in (lib.NODE_BIN, lib.TXTOOL, FRAMETOOL):
        if not os.path.exists(path):
            print(f"missing {path}: build first")
            return 77
    c = lib.Cluster(3, "tls")
    other = lib.Cluster(1, "tls-other")  # its keys and genesis only; never started
    failed = False
    try:
        c.start_all()
        c.leader()
        for name, fn in (("clients that are not members", lambda: scenario_strangers(c, other)),
                         ("a member's key that lies", lambda: scenario_hello(c, other)),
                         ("key rotation without restart", lambda: scenario_rotation(c)),
                         ("node removal", lambda: scenario_removal(c))):
            print(f"* {name}", flush=True)
            t = time.monotonic()
            fn()
            print(f"  ok ({time.monotonic() - t:.1f}s)", flush=True)
    except Exception:
        failed = True
        traceback.print_exc()
        c.dump_logs()
    finally:
        c.shutdown(keep=failed)
        other.shutdown()
    if failed:
        print(f"FAILED (work dir kept: {c.dir})")
        return 1
    print("PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
