#!/usr/bin/env python3
"""The relying party changed by governance, and a customer's next step sent
to a lagging node, on a 3-node cluster (assertions by pyca/cryptography, as in
test_passkey.py).

min_height on POST /api/v1/tx: a follower is stopped while a seller sells
through the leader; the customer's claim goes to that follower with the sale's
receipt height as min_height and is accepted once the follower has applied
the sale (admission judges standing by applied state). Bad values are 400
bad_query, a height never reached is 503 behind after the bounded wait, and
`provena claim --min-height` does the same from the CLI.

rp.set: A owns a unit under the genesis rp (localhost). The brand moves the
network to customers.localhost (`provena policy rp`). An assertion made for the
old rp is then refused with its code on every node, also when a lagging node
admitted it before it had applied the change (then the rules refuse it at
apply, and every node holds the same receipt); one for the new rp is
accepted; all three nodes agree on the unit, the rp in /api/v1/status and the
page's data-rp. --uv required then refuses presence-only assertions.
"""
import json
import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
import test_passkey as tp  # noqa: E402  (exits 77 without python3-cryptography)

INT64_MAX = 9223372036854775807
NEW_RP = "customers.localhost"


def origin_of(nd, host="localhost"):
    return nd.http.replace("127.0.0.1", host)


def post_tx(nd, tx, auth, query=""):
    tx = dict(tx)
    tx["auth"] = auth
    tx["sig"] = "00" * 64
    t0 = time.monotonic()
    st, doc = nd.request("POST", "/api/v1/tx" + query, json.dumps(tx).encode(),
                         "application/json", timeout=lib.scaled(30))
    took = time.monotonic() - t0
    code = None
    if isinstance(doc, dict):
        code = doc.get("code") or (doc.get("error") or {}).get("code")
    return st, code, doc, took


def height_of(out):
    m = re.search(r"accepted at height (\d+)", out)
    assert m, out
    return int(m.group(1))


def main():
    def extra(cl):
        return {"webauthn": {"rp_id": tp.RP, "origins": [origin_of(nd) for nd in cl.nodes]}}
    c = lib.Cluster(3, name="passkeyrp", genesis_extra=extra)
    ok = False
    try:
        run(c)
        ok = True
    finally:
        for nd in c.nodes:  # never leave a node stopped
            if nd.alive():
                try:
                    os.kill(nd.proc.pid, signal.SIGCONT)
                except OSError:
                    pass
        if not ok:
            c.dump_logs()
        c.shutdown(keep=not ok)
    print("test_passkey_rp: OK")


def run(c):
    d = os.path.join(c.dir, "keys")
    os.makedirs(d, exist_ok=True)
    keys = {}
    for name in ("carrier", "seller", "cust"):
        path = os.path.join(d, f"{name}.key")
        keys[name] = (path, tp.cli("key", "new", path).stdout.strip())
    for role, pid in (("carrier", "carrier-a"), ("seller", "seller-a")):
        tp.cli("genesis", "add-participant", c.genesis, "--role", role, "--id", pid, "--name",
               pid, "--pub", keys[role][1])
    c.start_all()
    lead = c.leader()
    follower = [nd for nd in c.nodes if nd is not lead][0]
    L = dict(node=lead.http)
    units = tp.cli("mint", "--gtin", lib.GTIN, "--lot", "R1", "--count", 3, key=c.brand_key,
                   **L).stdout.split()
    tp.cli("pickup", *units, key=keys["carrier"][0], **L)
    tp.cli("deliver", "--to", "seller-a", *units, key=keys["carrier"][0], **L)
    u0, u1, u2 = units
    A = tp.Passkey()

    # ---- min_height on POST /api/v1/tx: the next step through a lagging node --------------
    c.wait_same_head()
    os.kill(follower.proc.pid, signal.SIGSTOP)
    try:
        out = tp.cli("sell", u0, "--claim-code", key=keys["seller"][0], **L).stdout
        h_sale = height_of(out)
        code = [ln.split(": ", 1)[1] for ln in out.splitlines() if ln.startswith("claim code: ")][0]
        p = tp.prepare(lead, A, "claim", {"unit": u0}, code)
        auth = A.assert_(p["challenge"], origin_of(follower))
        box = {}
        t = threading.Thread(target=lambda: box.update(
            r=post_tx(follower, p["tx"], auth, f"?min_height={h_sale}")))
        t.start()
        time.sleep(0.3)  # the request waits in the stopped node's socket
    finally:
        os.kill(follower.proc.pid, signal.SIGCONT)
    t.join()
    st, err, doc, took = box["r"]
    assert st == 200 and doc.get("status") == "accepted", (st, doc)
    assert doc["height"] > h_sale, doc
    print(f"ok: claim sent to a stopped follower with min_height={h_sale} accepted "
          f"({took:.2f}s, at height {doc['height']})")
    assert tp.owner_everywhere(c, u0) == A.id

    # the gate's answers on a submit: bad values 400 at once, never reached 503 behind
    p = tp.prepare(lead, A, "warranty.activate", {"unit": u0})
    auth = A.assert_(p["challenge"], origin_of(follower))
    for bad in ("abc", "-1", "", str(INT64_MAX + 1), "1.5"):
        st, err, doc, took = post_tx(follower, p["tx"], auth, f"?min_height={bad}")
        assert (st, err) == (400, "bad_query") and took < lib.scaled(1.5), (bad, st, doc, took)
    far = follower.head()["height"] + 1000
    st, err, doc, took = post_tx(follower, p["tx"], auth, f"?min_height={far}")
    assert (st, err) == (503, "behind") and took >= 1.8, (st, doc, took)
    st, err, doc, _ = post_tx(follower, p["tx"], auth, f"?min_height={lead.head()['height']}")
    assert st == 200, doc  # the same bytes, once the node has the height
    print("ok: POST /api/v1/tx?min_height: 400 bad_query, 503 behind after the wait, 200")

    # the CLI: sell through the leader, claim through the follower with --min-height
    out = tp.cli("sell", u1, "--claim-code", key=keys["seller"][0], **L).stdout
    h1 = height_of(out)
    code1 = [ln.split(": ", 1)[1] for ln in out.splitlines() if ln.startswith("claim code: ")][0]
    p2 = tp.cli("claim", u1, "--code", code1, "--min-height", h1, key=keys["cust"][0],
                node=follower.http)
    assert height_of(p2.stdout) > h1, p2.stdout
    bad = tp.cli("claim", u1, "--code", code1, "--min-height", "abc", key=keys["cust"][0],
                 node=follower.http, check=2)
    assert "--min-height" in bad.stderr, bad.stderr
    print("ok: provena claim --min-height H through another node")

    # ---- rp.set --------------------------------------------------------------------------
    # an assertion made for the old rp, before the change (held, not sent)
    old_p = tp.prepare(lead, A, "warranty.claim", {"unit": u0, "note": "old rp"})
    old_auth = A.assert_(old_p["challenge"], origin_of(lead))
    # CLI refusals: forms, counts, and a key that is not a brand's
    for args in (["--id", "10.0.0.1", "--origins", "https://a.example"],
                 ["--id", "Shop.example", "--origins", "https://a.example"],
                 ["--id", "a.example", "--origins", "https://a.example/x"],
                 ["--id", "a.example", "--origins", ",".join(
                     f"https://a.example:{8000 + i}" for i in range(9))],
                 ["--id", "a.example", "--origins", "https://a.example,https://a.example"],
                 ["--id", "a.example", "--origins", "https://a.example", "--uv", "always"],
                 ["--origins", "https://a.example"]):
        r = tp.cli("policy", "rp", *args, key=c.brand_key, check=2, **L)
        assert "provena policy rp: --" in r.stderr, (args, r.stderr)
    r = tp.cli("policy", "rp", "--id", NEW_RP, "--origins", "https://evil.example",
               key=keys["seller"][0], check=1, **L)
    assert "wrong_role" in r.stderr, r.stderr
    new_origins = [origin_of(nd, NEW_RP) for nd in c.nodes]

    # the change, while the follower is stopped: it then admits by its old state
    os.kill(follower.proc.pid, signal.SIGSTOP)
    try:
        out = tp.cli("policy", "rp", "--id", NEW_RP, "--origins", ",".join(new_origins),
                     key=c.brand_key, **L).stdout
        h_rp = height_of(out)
        box = {}
        t = threading.Thread(target=lambda: box.update(r=post_tx(follower, old_p["tx"], old_auth)))
        t.start()
        time.sleep(0.3)
    finally:
        os.kill(follower.proc.pid, signal.SIGCONT)
    t.join()
    st, err, doc, _ = box["r"]
    assert err == "webauthn_origin" and st in (400, 403, 409, 422), (st, doc)
    where = "apply" if doc.get("height") else "admission"
    if where == "apply":
        # admitted by the old state, refused by the rules: the same receipt everywhere
        txid = doc["tx"]
        for nd in c.nodes:
            lib.wait_for(lambda: nd.get(f"/api/v1/tx/{txid}")[0] == 200, lib.scaled(30),
                         f"tx {txid} on node {nd.id}")
            s2, d2 = nd.get(f"/api/v1/tx/{txid}")
            rc = d2.get("receipt") or d2
            assert rc.get("code") == "webauthn_origin", (nd.id, d2)
    print(f"ok: an old-rp assertion sent to a lagging node is refused at {where}")
    # every node, now: the old origin, the old rp id under a new origin, and old-rp
    # passkeys cannot act; a new-rp assertion can
    for nd in c.nodes:
        p = tp.prepare(nd, A, "warranty.claim", {"unit": u0, "note": "x"})
        for kw, want in (({}, "webauthn_origin"), ({"origin_host": NEW_RP}, "webauthn_rp")):
            host = kw.get("origin_host", "localhost")
            st, err, doc, _ = post_tx(nd, p["tx"], A.assert_(p["challenge"], origin_of(nd, host)),
                                      f"?min_height={h_rp}")
            assert err == want and st in (400, 403, 409, 422), (nd.id, want, st, doc)
    p = tp.prepare(c.nodes[2], A, "warranty.claim", {"unit": u0, "note": "new rp"})
    st, err, doc, _ = post_tx(c.nodes[2], p["tx"],
                              A.assert_(p["challenge"], origin_of(c.nodes[2], NEW_RP), rp=NEW_RP),
                              f"?min_height={h_rp}")
    assert st == 200 and doc.get("status") == "accepted", (st, doc)
    h_claim = doc["height"]
    print("ok: after rp.set old-rp assertions are refused on every node, a new-rp one accepted")

    # all three nodes agree: the unit, the rp in force, the page's data-rp
    def agreed():
        seen = set()
        for nd in c.nodes:
            st, u = nd.get(f"/api/v1/units/{u0}?min_height={h_claim}")
            st2, s = nd.get("/api/v1/status")
            if st != 200 or st2 != 200:
                return None
            w = s.get("webauthn") or {}
            seen.add((json.dumps(u.get("unit"), sort_keys=True), w.get("rp_id"),
                      tuple(w.get("origins") or ()), w.get("user_verification")))
        return seen.pop() if len(seen) == 1 else None
    unit_json, rp_id, origins, uv = lib.wait_for(agreed, lib.scaled(30), "agreement")
    assert rp_id == NEW_RP and list(origins) == new_origins and uv == "preferred", (rp_id, origins)
    assert json.loads(unit_json)["warranty"]["open_claims"] >= 1, unit_json
    for nd in c.nodes:
        st, page = nd.request("GET", f"/01/{u0.split('/')[0]}/21/{u0.split('/')[1]}"
                              f"?min_height={h_claim}", accept="text/html")
        page = page.decode() if isinstance(page, bytes) else str(page)
        assert st == 200 and f'data-rp="{NEW_RP}"' in page and 'data-uv="preferred"' in page, \
            (nd.id, st, page[:400])
    c.wait_same_head()
    print("ok: all three nodes agree on the unit, the rp in force and the page's data-rp")

    # user verification required: presence alone is refused, UP|UV accepted
    out = tp.cli("policy", "rp", "--id", NEW_RP, "--origins", ",".join(new_origins), "--uv",
                 "required", key=c.brand_key, **L).stdout
    h_uv = height_of(out)
    nd = c.nodes[1]
    p = tp.prepare(nd, A, "warranty.claim", {"unit": u0, "note": "uv"})
    st, err, doc, _ = post_tx(nd, p["tx"], A.assert_(p["challenge"], origin_of(nd, NEW_RP),
                                                     rp=NEW_RP, flags=0x01), f"?min_height={h_uv}")
    assert err == "webauthn_presence", (st, doc)
    st, err, doc, _ = post_tx(nd, p["tx"], A.assert_(p["challenge"], origin_of(nd, NEW_RP),
                                                     rp=NEW_RP, flags=0x05), f"?min_height={h_uv}")
    assert st == 200, (st, doc)
    st, page = nd.request("GET", f"/01/{u0.split('/')[0]}/21/{u0.split('/')[1]}",
                          accept="text/html")
    assert 'data-uv="required"' in (page.decode() if isinstance(page, bytes) else page)
    print("ok: rp.set --uv required: presence alone refused, verified accepted, page says so")


if __name__ == "__main__":
    main()
