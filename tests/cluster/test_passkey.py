#!/usr/bin/env python3
"""Passkey owners on a 3-node cluster, with assertions made by a second
implementation (pyca/cryptography's P-256, this file's clientDataJSON).

A seller sells a unit with a claim code (CLI). Customer A, holding only a
passkey, claims it through POST /api/v1/tx/prepare (the node derives the claim
signature from the code) and POST /api/v1/tx (the assertion over the tx id),
activates the warranty and makes a transfer offer; customer B claims the offer
with another passkey. All three nodes show B as owner; A can no longer act. A
wrong code, and every kind of bad assertion (replayed onto another tx, wrong
origin, wrong rp, wrong type, no user presence, forged, malformed, another
passkey's identity) is refused with its own code, the same whichever node takes
it. No code appears in any transaction, receipt or node log."""
import base64
import hashlib
import http.client
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

try:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
except ImportError:
    print("test_passkey: SKIP (python3-cryptography not installed)")
    sys.exit(77)

CLI = os.path.join(lib.BUILD, "provena")
RP = "localhost"


def cli(*args, key=None, node=None, check=0):
    env = dict(os.environ)
    env.pop("PROVENA_KEY", None)
    env.pop("PROVENA_NODE", None)
    if key:
        env["PROVENA_KEY"] = key
    if node:
        env["PROVENA_NODE"] = node
    p = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, env=env,
                       timeout=lib.scaled(120))
    assert check is None or p.returncode == check, (args, p.returncode, p.stdout, p.stderr)
    return p


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def cbor_bytes(b):
    n = len(b)
    return (bytes([0x40 + n]) if n < 24 else bytes([0x58, n])) + b


def tagged(tag, msg):
    t = hashlib.sha256(tag.encode()).digest()
    return hashlib.sha256(t + t + msg).digest()


class Passkey:
    """A platform authenticator, as far as the ledger can tell."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cred = secrets.token_bytes(16)
        self.pub = self.key.public_key().public_bytes(Encoding.X962,
                                                      PublicFormat.UncompressedPoint)
        self.id = tagged("provena/passkey/v1",
                         bytes([0x82]) + cbor_bytes(self.cred) + cbor_bytes(self.pub)).hex()
        self.count = 0

    def ref(self):
        return {"cred": self.cred.hex(), "pub": self.pub.hex()}

    def assert_(self, challenge, origin, rp=RP, type_="webauthn.get", flags=0x05, key=None,
                cdata=None):
        self.count += 1
        adata = hashlib.sha256(rp.encode()).digest() + bytes([flags]) + \
            self.count.to_bytes(4, "big")
        if cdata is None:
            cdata = json.dumps({"type": type_, "challenge": challenge, "origin": origin,
                                "crossOrigin": False}, separators=(",", ":")).encode()
        sig = (key or self.key).sign(adata + hashlib.sha256(cdata).digest(),
                                     ec.ECDSA(hashes.SHA256()))
        return {"pub": self.pub.hex(), "sig": sig.hex(), "cred": self.cred.hex(),
                "adata": adata.hex(), "cdata": cdata.hex()}


def prepare(nd, pk, typ, body, code=None, min_height=None):
    req = {"type": typ, "body": body, "passkey": pk.ref()}
    if code is not None:
        req["code"] = code
    # min_height: the nonce is the node's view; name the step before's height
    path = "/api/v1/tx/prepare" + (f"?min_height={min_height}" if min_height else "")
    st, doc = nd.request("POST", path, json.dumps(req).encode(), "application/json")
    assert st == 200, (typ, st, doc)
    assert doc["tx"]["signer"] == pk.id, doc
    assert base64.urlsafe_b64decode(doc["challenge"] + "=") == bytes.fromhex(doc["id"]), doc
    return doc


def submit(nd, tx, auth):
    tx = dict(tx)
    tx["auth"] = auth
    tx["sig"] = "00" * 64
    st, doc = nd.request("POST", "/api/v1/tx", json.dumps(tx).encode(), "application/json")
    code = doc.get("code") or (doc.get("error") or {}).get("code") if isinstance(doc, dict) \
        else None
    return st, code, doc


def signed(nd, pk, origin, typ, body, code=None, min_height=None, **kw):
    p = prepare(nd, pk, typ, body, code, min_height)
    return p, submit(nd, p["tx"], pk.assert_(p["challenge"], origin, **kw))


def owner_everywhere(c, unit):
    def same():
        owners = set()
        for nd in c.nodes:
            st, doc = nd.get(f"/api/v1/units/{unit}")
            if st != 200:
                return None
            owners.add((doc.get("unit") or doc).get("owner"))
        return owners.pop() if len(owners) == 1 else None
    return lib.wait_for(same, lib.scaled(30), f"one owner of {unit} on every node")


def main():
    def extra(cl):
        origins = [nd.http.replace("127.0.0.1", "localhost") for nd in cl.nodes]
        return {"webauthn": {"rp_id": RP, "origins": origins}}
    c = lib.Cluster(3, name="passkey", genesis_extra=extra)
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
    print("test_passkey: OK")


def run(c):
    d = tempfile.mkdtemp(prefix="provena-passkey-", dir=c.dir)
    keys = {}
    for name in ("carrier", "seller"):
        path = os.path.join(d, f"{name}.key")
        keys[name] = (path, cli("key", "new", path).stdout.strip())
    g = c.genesis
    cli("genesis", "add-participant", g, "--role", "carrier", "--id", "carrier-a", "--name",
        "Carrier", "--pub", keys["carrier"][1])
    cli("genesis", "add-participant", g, "--role", "seller", "--id", "seller-a", "--name",
        "Shop", "--pub", keys["seller"][1])
    c.start_all()
    c.leader()
    n1, n2, n3 = c.nodes
    origin = n1.http.replace("127.0.0.1", "localhost")
    N = dict(node=n1.http)
    units = cli("mint", "--gtin", lib.GTIN, "--lot", "P1", "--count", 2, key=c.brand_key,
                **N).stdout.split()
    u0, u1 = units
    cli("pickup", u0, u1, key=keys["carrier"][0], **N)
    cli("deliver", "--to", "seller-a", u0, u1, key=keys["carrier"][0], **N)
    out = cli("sell", u0, "--claim-code", key=keys["seller"][0], **N).stdout
    code = [ln.split(": ", 1)[1] for ln in out.splitlines() if ln.startswith("claim code: ")][0]
    codes = [code]

    A, B, M = Passkey(), Passkey(), Passkey()
    # node 2 answers about the sale once it has applied it (as the page a customer
    # claims from shows the claim form only then): admission judges by that state
    g_, s_ = u0.split("/")

    def sold_on_n2():
        doc = n2.get(f"/api/v1/units/{g_}/{s_}")[1] or {}
        return (doc.get("unit") or {}).get("state") == "sold"
    lib.wait_for(sold_on_n2, lib.scaled(30), "the sale on node 2")
    # a wrong code: refused, and the refused claim carries no code
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    codes.append(wrong)
    p, (st, err, doc) = signed(n2, A, origin, "claim", {"unit": u0}, code=wrong)
    assert (st, err) == (422, "bad_claim_code"), (st, doc)
    # claim with the right code, typed in lower case: A (a passkey) owns it on every node
    p, (st, err, doc) = signed(n1, A, origin, "claim", {"unit": u0}, code=code.lower())
    assert st == 200, doc
    assert owner_everywhere(c, u0) == A.id
    # the warranty, by A
    act, (st, err, doc) = signed(n3, A, origin, "warranty.activate", {"unit": u0})
    assert st == 200, doc
    act_h = doc["height"]  # A's next steps, through other nodes, name this height
    old_auth = A.assert_(act["challenge"], origin)

    # ---- every bad assertion, each with its own code, on every node alike ----------------
    def refused(want, nd, **kw):
        p = prepare(nd, A, "warranty.claim", {"unit": u0, "note": "zip"}, min_height=act_h)
        kw.setdefault("origin", origin)
        auth = kw.pop("auth", None) or A.assert_(p["challenge"], **kw)
        st, err, doc = submit(nd, p["tx"], auth)
        assert err == want and st in (400, 422), (want, st, doc)

    for nd in c.nodes:
        refused("webauthn_challenge", nd, auth=old_auth)  # replayed onto another tx
        refused("webauthn_origin", nd, origin="http://localhost.evil.example")
        refused("webauthn_rp", nd, rp="evil.example")
        refused("webauthn_type", nd, type_="webauthn.create")
        refused("webauthn_presence", nd, flags=0x00)
        refused("webauthn_signature", nd, key=ec.generate_private_key(ec.SECP256R1()))
        refused("webauthn_malformed", nd, cdata=b'{"type":"webauthn.get"')
    # another passkey's assertion under A's identity: not A's signature
    p = prepare(n1, A, "warranty.claim", {"unit": u0}, min_height=act_h)
    st, err, doc = submit(n1, p["tx"], M.assert_(p["challenge"], origin))
    assert (st, err) == (422, "bad_signature"), doc
    # the same accepted transaction sent again changes nothing
    st, err, doc = submit(n2, act["tx"], A.assert_(act["challenge"], origin))
    assert st == 200 and doc.get("height"), doc

    # ---- a transfer offer, claimed by B's passkey -----------------------------------------
    gift = "GIFT-" + "".join(secrets.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(12))
    codes.append(gift)
    import time
    exp = int(time.time() * 1000) + 3600_000
    p, (st, err, doc) = signed(n1, A, origin, "transfer.offer", {"unit": u0, "expires": exp},
                               code=gift, min_height=act_h)
    assert st == 200, doc
    # B claims through node 2 once node 2 has applied the offer (admission judges
    # standing by the state this node has applied)
    h = doc["height"]
    lib.wait_for(lambda: n2.head()["height"] >= h, lib.scaled(30), f"block {h} on node 2")
    p, (st, err, doc) = signed(n2, B, origin, "claim", {"unit": u0}, code=gift.replace("-", " "))
    assert st == 200, doc
    assert owner_everywhere(c, u0) == B.id
    p, (st, err, doc) = signed(n3, A, origin, "warranty.claim", {"unit": u0})
    assert (st, err) == (409, "not_owner"), doc
    p, (st, err, doc) = signed(n3, B, origin, "claim", {"unit": u0}, code=gift)
    assert (st, err) == (409, "no_offer"), doc

    # ---- the offer's QR: the page URL with #code=, drawn by POST /api/v1/qr.svg ------------
    qr_code(c, u0, gift)

    # ---- no code anywhere: transactions, history, logs --------------------------------------
    c.wait_same_head()
    st, hist = n3.get(f"/api/v1/units/{u0}/history")
    assert st == 200, hist
    blob = json.dumps(hist)
    st, head = n1.get("/api/v1/head")
    height = (head.get("head") or head)["height"]
    for h in range(1, height + 1):
        st, blk = n2.get(f"/api/v1/blocks/{h}")
        assert st == 200, blk
        for txid in blk["txs"]:
            st, tx = n3.get(f"/api/v1/tx/{txid}")
            assert st == 200, tx
            blob += json.dumps(tx)
    for nd in c.nodes:
        with open(nd.log, errors="replace") as f:
            blob += f.read()
    flat = blob.upper().replace("-", "").replace(" ", "")
    for cd in codes:
        norm = cd.upper().replace("-", "").replace(" ", "")
        assert norm not in flat, f"code {cd} found on the ledger or in a log"
    assert "claim_sig" in blob  # the blocks were really read


def qr_code(c, unit, gift):
    """POST /api/v1/qr.svg: an SVG QR of the URL in the body; zbarimg (via
    rsvg-convert) reads the URL back. The URL is 1..1024 bytes, http(s); the
    body at most 4096 bytes. The code must not reach a log (checked after)."""
    nd = c.nodes[0]
    gtin, serial = unit.split("/")
    url = nd.http + f"/01/{gtin}/21/{serial}#code={gift}"

    def qr(doc, raw=None, ctype="application/json"):
        body = raw if raw is not None else json.dumps(doc).encode()
        conn = http.client.HTTPConnection("127.0.0.1", nd.http_port, timeout=lib.scaled(20))
        try:
            conn.request("POST", "/api/v1/qr.svg", body=body, headers={"Content-Type": ctype})
            resp = conn.getresponse()
            return resp.status, resp.getheader("Content-Type"), resp.read()
        finally:
            conn.close()

    def decodes(svg):
        if not (shutil.which("rsvg-convert") and shutil.which("zbarimg")):
            raise AssertionError("rsvg-convert and zbarimg needed (scripts/install-deps.sh)")
        png = subprocess.run(["rsvg-convert", "-w", "400"], input=svg, capture_output=True,
                             check=True).stdout
        return subprocess.run(["zbarimg", "-q", "--raw", "-"], input=png, capture_output=True,
                              check=True).stdout.decode().strip()

    st, ct, svg = qr({"url": url})
    assert st == 200 and ct == "image/svg+xml", (st, ct, svg[:200])
    assert decodes(svg) == url
    # the URL: exactly 1024 bytes is drawn, 1025 is refused
    base = nd.http + "/"
    for n, want in ((1024, 200), (1025, 400)):
        st, ct, out = qr({"url": base + "x" * (n - len(base))})
        assert st == want, (n, st, out[:200])
        if want == 400:
            assert json.loads(out)["error"]["code"] == "bad_url", out
    # the body: exactly 4096 bytes (padded with JSON whitespace) is read, 4097 refused
    doc = json.dumps({"url": url}).encode()
    for n, want in ((4096, 200), (4097, 413)):
        st, ct, out = qr(None, raw=doc + b" " * (n - len(doc)))
        assert st == want, (n, st, out[:200])
    for bad in ({"url": ""}, {"url": "ftp://x/y"}, {"url": 7}, {"link": url}, ["x"],
                {"url": "javascript:alert(1)"}):
        st, ct, out = qr(bad)
        assert st == 400 and json.loads(out)["error"]["code"] == "bad_url", (bad, st, out)
    st, ct, out = qr(None, raw=b"{not json")
    assert st == 400 and json.loads(out)["error"]["code"] == "malformed_json", (st, out)
    st, ct, out = qr(None, raw=url.encode(), ctype="text/plain")
    assert st == 415, (st, out)


if __name__ == "__main__":
    main()
