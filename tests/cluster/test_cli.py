"""End to end through the provena CLI against a real 3-node network.

Builds the network's genesis with `provena genesis`, mints with labels, runs a
unit through pickup, delivery, sale with a claim code, claim, transfer and the
warranty, flags another, and checks that every refusal on the way carries its
stable error code (wrong_role, stale_nonce, not_owner, bad_claim_code,
bad_state, unknown_unit, ...). The history of the unit must be the same on
every node; offline verify accepts the genuine label and rejects it with one
character changed; `chain audit` re-verifies the chain from genesis.

Every process is stopped at the end, also on failure (lib.py's atexit).
"""

import csv
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

CLI = os.path.join(lib.BUILD, "provena")
TIMEOUT = lib.scaled(120)


class Run:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return f"rc={self.rc}\nstdout:\n{self.out}\nstderr:\n{self.err}"


def cli(*args, node=None, key=None, check=None, stdin=None):
    env = dict(os.environ)
    env.pop("PROVENA_KEY", None)
    if node:
        env["PROVENA_NODE"] = node
    if key:
        env["PROVENA_KEY"] = key
    p = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, env=env,
                       timeout=TIMEOUT, input=stdin)
    r = Run(p.returncode, p.stdout, p.stderr)
    if check is not None:
        assert r.rc == check, f"provena {' '.join(map(str, args))}: expected exit {check}\n{r!r}"
    return r


def refused(code, *args, **kw):
    """The command must fail with exit 1 and name the error code."""
    codes = (code,) if isinstance(code, str) else code
    r = cli(*args, **kw)
    assert r.rc == 1, f"provena {' '.join(map(str, args))}: expected refusal {code}\n{r!r}"
    assert any(f": {k}" in r.err for k in codes), f"expected error code {code!r} in stderr\n{r!r}"
    return r


def cbor_head(buf, pos):
    """(major type, argument, position after the head) of the CBOR item at pos."""
    b = buf[pos]
    major, info = b >> 5, b & 0x1F
    if info < 24:
        return major, info, pos + 1
    n = {24: 1, 25: 2, 26: 4, 27: 8}[info]
    return major, int.from_bytes(buf[pos + 1:pos + 1 + n], "big"), pos + 1 + n


def flip_in_range(body, path, height):
    """Flips the middle byte of block `height` inside a CBOR range answer."""
    q = urllib.parse.parse_qs(urllib.parse.urlparse(path).query)
    first = int(q["from"][0])
    major, count, pos = cbor_head(body, 0)
    assert major == 4, "a range is an array"
    body = bytearray(body)
    for i in range(count):
        major, n, start = cbor_head(body, pos)
        assert major == 2, "of byte strings"
        if first + i == height:
            body[start + n // 2] ^= 0x01
        pos = start + n
    return bytes(body)


class TamperProxy:
    """Forwards GETs to a node, flipping one byte of block `height` or lying
    about the head's state digest: what chain audit must catch."""

    def __init__(self, upstream, height=None, fake_digest=False):
        up = upstream

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                with urllib.request.urlopen(up + self.path, timeout=30) as r:
                    body, ctype = r.read(), r.headers.get("Content-Type", "")
                if height is not None and self.path.startswith("/api/v1/blocks?"):
                    body = flip_in_range(body, self.path, height)
                if fake_digest and self.path == "/api/v1/head":
                    doc = json.loads(body)
                    doc["state_digest"] = "00" * 32
                    body = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}"
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def main():
    c = lib.Cluster(3, name="cli")
    ok = False
    try:
        run(c)
        ok = True
    finally:
        if not ok:
            c.dump_logs()
        for nd in c.nodes:
            try:
                nd.stop(timeout=lib.scaled(20))
            except Exception:
                nd.kill()
        c.shutdown(keep=not ok)
    print("test_cli: OK")


def run(c):
    d = tempfile.mkdtemp(prefix="provena-cli-", dir=c.dir)
    keys = {}
    for name in ("carrier", "seller", "service", "alice", "bob"):
        path = os.path.join(d, f"{name}.key")
        r = cli("key", "new", path, check=0)
        keys[name] = (path, r.out.strip())
        assert len(keys[name][1]) == 64
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    cli("key", "new", keys["alice"][0], check=1)  # refuses to overwrite
    assert cli("key", "pub", keys["alice"][0], check=0).out.strip() == keys["alice"][1]
    brand = c.brand_key

    # ---- genesis through the CLI ------------------------------------------------
    g = c.genesis
    cli("genesis", "add-participant", g, "--role", "carrier", "--id", "carrier-dhl", "--name",
        "DHL Freight", "--pub", keys["carrier"][1], "--regions", "DE,AT", check=0)
    cli("genesis", "add-participant", g, "--role", "seller", "--id", "seller-berlin", "--name",
        "Bergsport Berlin", "--pub", keys["seller"][1], "--regions", "DE", check=0)
    cli("genesis", "add-participant", g, "--role", "pilot", "--id", "x", "--name", "X",
        "--pub", keys["bob"][1], check=2)
    before = open(g).read()
    r = cli("genesis", "add-participant", g, "--role", "seller", "--id", "seller-berlin",
            "--name", "Dup", "--pub", keys["bob"][1], check=1)
    assert "duplicate" in r.err, r
    assert open(g).read() == before, "a refused edit must leave the file unchanged"
    chain_id = cli("genesis", "show", g, check=0).out.strip()
    assert len(chain_id) == 64

    c.start_all()
    leader = c.leader()
    n1 = c.nodes[0].http
    N = dict(node=n1)

    # ---- mint ---------------------------------------------------------------------
    labels = os.path.join(d, "labels")
    csv_path = os.path.join(d, "units.csv")
    r = cli("mint", "--gtin", lib.GTIN, "--lot", "L7", "--expiry", "281231", "--model", "Pack",
            "--markets", "DE,AT", "--count", 5, "--labels", labels, "--csv", csv_path,
            key=brand, check=0, **N)
    units = r.out.split()
    assert len(units) == 5 and all(u.startswith(lib.GTIN + "/") for u in units), r
    rows = list(csv.DictReader(open(csv_path)))
    assert [f"{x['gtin']}/{x['serial']}" for x in rows] == units
    for u in units:
        s = u.split("/")[1]
        assert len(s) == 13
        assert os.path.getsize(os.path.join(labels, f"{lib.GTIN}-{s}.svg")) > 0
        assert os.path.getsize(os.path.join(labels, f"{lib.GTIN}-{s}.png")) > 0
    assert any(f.startswith("sheet-") for f in os.listdir(labels))
    u0, u1, u2, u3, u4 = units
    url0 = rows[0]["url"]
    assert "sig=" in url0 and "10=L7" in url0

    refused("wrong_role", "mint", "--gtin", lib.GTIN, "--lot", "L8", "--count", 1,
            key=keys["carrier"][0], **N)
    refused("bad_gtin", "mint", "--gtin", "04012345000009", "--lot", "L8", "--count", 1,
            key=brand, **N)
    cli("mint", "--gtin", "09506000123456", "--lot", "L", "--count", 1, key=brand, check=2, **N)
    cli("mint", "--gtin", lib.GTIN, "--lot", "L", "--count", "zero", key=brand, check=2, **N)

    # ---- carriers -------------------------------------------------------------------
    refused("wrong_role", "pickup", u0, key=keys["seller"][0], **N)
    refused("unknown_unit", "pickup", lib.GTIN + "/NEVERMINTED1", key=keys["carrier"][0], **N)
    ufile = os.path.join(d, "units.txt")
    with open(ufile, "w") as f:
        f.write("# four units\n" + "\n".join(units[:4]) + "\n")
    cli("pickup", "--file", ufile, "--region", "DE", key=keys["carrier"][0], check=0, **N)
    # deliver names the seller by display name; the element string form of a unit works too
    elem = "(01)%s(21)%s" % tuple(u3.split("/"))
    cli("deliver", "--to", "Bergsport Berlin", u0, u1, u2, elem, key=keys["carrier"][0],
        check=0, **N)
    refused("stale_nonce", "pickup", u4, "--nonce", 1, key=keys["carrier"][0], **N)
    cli("pickup", key=keys["carrier"][0], check=2, **N)  # no units: usage error

    # ---- sale, claim, ownership --------------------------------------------------------
    refused("wrong_role", "sell", u0, "--claim-code", key=keys["carrier"][0], **N)
    refused(("not_holder", "bad_state"), "sell", u4, "--buyer", keys["alice"][1], key=keys["seller"][0], **N)
    r = cli("sell", u0, "--claim-code", key=keys["seller"][0], check=0, **N)
    code = [ln.split(": ", 1)[1] for ln in r.out.splitlines() if ln.startswith("claim code: ")][0]
    # a wrong code from a customer key is refused at admission: never on the ledger,
    # so nothing of it (least of all a code) can be read back from any node
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    r = refused("bad_claim_code", "claim", u0, "--code", wrong, key=keys["alice"][0], **N)
    assert "refused at admission" in r.err, r.err
    txid = r.err.rsplit("(tx ", 1)[1].rstrip(")\n ")
    c.wait_same_head()
    for nd in c.nodes:
        st, doc = nd.get("/api/v1/tx/" + txid)
        assert st == 404, (nd.id, st, doc)
    for form in (wrong, wrong.replace("-", ""), code.replace("-", "")):
        assert form.upper() not in (r.out + r.err).upper(), (form, r.err)
    cli("claim", u0, "--code", "not a code!", key=keys["alice"][0], check=2, **N)
    # typed as a person might: lower case, spaces for dashes, O for 0 and l for 1
    typed = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    cli("claim", u0, "--code", typed, key=keys["alice"][0], check=0, **N)
    refused("no_offer", "claim", u0, "--code", code, key=keys["bob"][0], **N)
    refused("not_owner", "transfer", u0, "--to", keys["bob"][1], key=keys["bob"][0], **N)
    # a transfer offer: one code, cancelled, then a new one claimed once
    r = cli("transfer", "offer", u0, key=keys["alice"][0], check=0, **N)
    ocode = [ln.split(": ", 1)[1] for ln in r.out.splitlines() if ln.startswith("claim code: ")][0]
    refused("not_owner", "transfer", "cancel", u0, key=keys["bob"][0], **N)
    cli("transfer", "cancel", u0, key=keys["alice"][0], check=0, **N)
    refused("no_offer", "claim", u0, "--code", ocode, key=keys["bob"][0], **N)
    cli("transfer", "offer", u0, "--days", 31, key=keys["alice"][0], check=2, **N)
    r = cli("transfer", "offer", u0, "--days", 1, key=keys["alice"][0], check=0, **N)
    ocode = [ln.split(": ", 1)[1] for ln in r.out.splitlines() if ln.startswith("claim code: ")][0]
    cli("claim", u0, "--code", ocode, key=keys["bob"][0], check=0, **N)
    refused("not_owner", "transfer", u0, "--to", keys["alice"][1], key=keys["alice"][0], **N)
    cli("transfer", u0, "--to", keys["alice"][1], key=keys["bob"][0], check=0, **N)
    cli("transfer", u0, "--to", keys["bob"][1], key=keys["alice"][0], check=0, **N)
    refused(("bad_state", "not_holder"), "pickup", u0, key=keys["carrier"][0], **N)

    # ---- warranty and governance -------------------------------------------------------
    cli("warranty", "activate", u0, key=keys["bob"][0], check=0, **N)
    cli("warranty", "claim", u0, "--note", "zip broken", key=keys["bob"][0], check=0, **N)
    refused(("unknown_signer", "wrong_role"), "warranty", "resolve", u0, "--outcome", "repaired",
            key=keys["service"][0], **N)
    refused("wrong_role", "participant", "add", "--id", "service-munich", "--name", "Svc",
            "--role", "service", "--pub", keys["service"][1], key=keys["carrier"][0], **N)
    cli("participant", "add", "--id", "service-munich", "--name", "Acme Service Munich",
        "--role", "service", "--pub", keys["service"][1], "--regions", "DE-BY", key=brand,
        check=0, **N)
    cli("warranty", "resolve", u0, "--outcome", "repaired", key=keys["service"][0], check=0, **N)
    cli("warranty", "resolve", u0, "--outcome", "fixed", key=keys["service"][0], check=2, **N)

    # ---- flags ------------------------------------------------------------------------
    refused("wrong_role", "flag", "--reason", "recalled", u1, key=keys["carrier"][0], **N)
    cli("flag", "--reason", "recalled", u1, key=brand, check=0, **N)
    refused("flagged", "sell", u1, "--buyer", keys["alice"][1], key=keys["seller"][0], **N)
    cli("flag", "--reason", "lost", u1, key=brand, check=2, **N)

    cli("unflag", "--reason", "recalled", u1, key=brand, check=0, **N)
    refused(("bad_state", "invalid"), "unflag", "--reason", "recalled", u1, key=brand, **N)

    # ---- policy, key rotation, revocation ------------------------------------------------
    cli("policy", "set", "--scope", lib.GTIN + "/L7", "--max-clients", 3, "--travel-kmh", 800,
        key=brand, check=0, **N)
    refused("wrong_role", "policy", "set", "--max-clients", 3, key=keys["carrier"][0], **N)
    cli("policy", "set", "--max-clients", "many", key=brand, check=2, **N)
    new_carrier = os.path.join(d, "carrier2.key")
    new_pub = cli("key", "new", new_carrier, check=0).out.strip()
    cli("participant", "rotate", "carrier-dhl", "--pub", new_pub, key=brand, check=0, **N)
    refused(("unknown_signer", "revoked_signer"), "pickup", u2, key=keys["carrier"][0], **N)
    cli("participant", "revoke", "seller-berlin", key=brand, check=0, **N)
    refused(("revoked_signer", "unknown_signer"), "sell", u2, "--buyer", keys["alice"][1],
            key=keys["seller"][0], **N)

    # ---- more than CHAIN_UNITS_MAX units: two mint txs, two pickup txs -------------------
    r = cli("mint", "--gtin", lib.GTIN, "--lot", "BIG", "--count", 10001, key=brand, check=0, **N)
    big = r.out.split()
    assert len(big) == 10001 and len(set(big)) == 10001
    bigfile = os.path.join(d, "big.txt")
    with open(bigfile, "w") as f:
        f.write(r.out)
    r = cli("pickup", "--file", bigfile, "--json", key=new_carrier, check=0, **N)
    receipts = [json.loads(ln) for ln in r.out.splitlines()]
    assert len(receipts) == 2 and all(x["status"] == "accepted" for x in receipts), r

    # ---- history is the same on every node ---------------------------------------------
    c.wait_same_head()
    histories = []
    for nd in c.nodes:
        r = cli("history", u0, "--json", node=nd.http, check=0)
        doc = json.loads(r.out)
        histories.append([(e["type"], e.get("actor_id", "")) for e in doc["history"]])
    assert histories[0] == histories[1] == histories[2], histories
    types = [t for t, _ in histories[0]]
    assert types == ["mint", "pickup", "deliver", "sell", "claim", "transfer.offer",
                     "transfer.cancel", "transfer.offer", "claim", "transfer", "transfer",
                     "warranty.activate", "warranty.claim", "warranty.resolve"], types
    r = cli("history", u1, node=c.nodes[2].http, check=0)
    lines = r.out.splitlines()
    assert "genuine" in lines[0] and "FLAG" not in r.out, r  # recalled, then unflagged
    assert [ln.split()[3] for ln in lines if " by " in ln][-2:] == ["flag", "unflag"], r
    cli("history", "not-a-unit", check=2, **N)

    # ---- verify -------------------------------------------------------------------------
    r = cli("verify", url0, "--genesis", g, "--offline", check=0)
    assert "GENUINE" in r.out, r
    s0 = u0.split("/")[1]
    bad = s0[:-1] + ("A" if s0[-1] != "A" else "B")
    r = cli("verify", url0.replace(s0, bad), "--genesis", g, "--offline", check=1)
    assert "NOT GENUINE" in r.out, r
    r = cli("verify", url0, "--genesis", g, "--json", node=c.nodes[1].http, check=0)
    assert json.loads(r.out)["signature"] == "genuine", r
    cli("verify", url0, "--offline", check=2)

    # ---- status and audit --------------------------------------------------------------
    st = json.loads(cli("status", "--json", check=0, **N).out)
    assert st["head"]["height"] >= 1
    r = cli("chain", "audit", "--node", c.nodes[1].http, "--genesis", g, "--json", check=0)
    assert json.loads(r.out)["ok"] is True, r
    # a node serving a tampered block, or lying about its state: loud failure naming where
    px = TamperProxy(c.nodes[2].http, height=2)
    try:
        r = cli("chain", "audit", "--node", px.url, "--genesis", g, check=1)
        assert "MISMATCH at height 2" in r.err or "height 2:" in r.err, r
    finally:
        px.close()
    px = TamperProxy(c.nodes[2].http, fake_digest=True)
    try:
        r = cli("chain", "audit", "--node", px.url, "--genesis", g, check=1)
        assert "state digest" in r.err and "MISMATCH" in r.err, r
    finally:
        px.close()
    del leader


if __name__ == "__main__":
    main()
