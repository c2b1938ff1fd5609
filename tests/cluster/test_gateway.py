"""The HTTP gateway against a real provena-node: every route and every error class.

One node (a one-member Raft cluster) with a fresh genesis; units minted through
POST /api/v1/tx (CBOR and JSON, single and batch); then the Digital Link page and
JSON, labels decoded with zbarimg (the decoded URL must resolve), the page rendered
by headless Chromium at a phone viewport (screenshot kept next to the node log), the
/api/v1 reads, reports, rate limiting, metrics, and each error class with its code.
Every process is stopped by the test (lib.py kills leftovers at exit).
"""

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

CLI = os.path.join(lib.BUILD, "provena")
FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print(f"FAIL: {what}", flush=True)
    else:
        print(f"ok: {what}", flush=True)


def raw_request(node, method, path, body=None, headers=None, source=None, timeout=10):
    """One request; returns (status, headers dict, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", node.http_port, timeout=lib.scaled(timeout),
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def jreq(node, method, path, body=None, ctype=None, source=None):
    h = {"Accept": "application/json"}
    if ctype:
        h["Content-Type"] = ctype
    st, hd, data = raw_request(node, method, path, body, h, source)
    try:
        doc = json.loads(data) if data else None
    except ValueError:
        doc = None
    return st, hd, doc


def err_code(doc):
    return (doc or {}).get("error", {}).get("code")


def cbor_bstr(b):
    n = len(b)
    if n < 24:
        head = bytes([0x40 | n])
    elif n < 256:
        head = bytes([0x58, n])
    elif n < 65536:
        head = bytes([0x59]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x5a]) + n.to_bytes(4, "big")
    return head + b


def cbor_array(items):
    n = len(items)
    if n < 24:
        head = bytes([0x80 | n])
    elif n < 256:
        head = bytes([0x98, n])
    else:
        head = bytes([0x99]) + n.to_bytes(2, "big")
    return head + b"".join(cbor_bstr(i) for i in items)


GW_BODY_MAX = 8 << 20      # node/gateway.h
GW_BATCH_MAX = 1024        # node/gateway.h
CHAIN_TX_MAX_BYTES = 2 << 20  # chain/chain.h


def raw_exchange(nd, head, body=b"", wait=10):
    """Sends raw bytes (head, then body) and reads until the server answers or
    closes; returns the bytes received (b"" when it closed without a word). A
    server that neither answers nor closes within `wait` s gives None."""
    s = socket.create_connection(("127.0.0.1", nd.http_port), timeout=lib.scaled(wait))
    got = b""
    try:
        s.sendall(head)
        try:
            if body:
                s.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused mid-body; its answer may still be readable
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return got
            except socket.timeout:
                return got or None
            if not chunk:
                return got
            got += chunk
            if b"\r\n\r\n" in got:
                hd, _, rest = got.partition(b"\r\n\r\n")
                m = [ln for ln in hd.split(b"\r\n") if ln.lower().startswith(b"content-length:")]
                if m and len(rest) >= int(m[0].split(b":")[1]):
                    return got
    finally:
        s.close()


def post_head(length, ctype=b"application/cbor"):
    return (b"POST /api/v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: " + ctype +
            b"\r\nContent-Length: " + str(length).encode() + b"\r\n\r\n")


def limits(nd):
    """Each gateway bound exactly at its limit (read and answered on its merits)
    and one past it (refused with 413, or the connection closed)."""
    # Content-Length: GW_BODY_MAX is read (zeros are no CBOR: 400), one more is
    # refused from the header alone, before any body byte is sent.
    resp = raw_exchange(nd, post_head(GW_BODY_MAX), bytes(GW_BODY_MAX), wait=30)
    check(resp is not None and resp.startswith(b"HTTP/1.1 400") and b"malformed_cbor" in resp,
          f"Content-Length exactly GW_BODY_MAX → read, 400 malformed_cbor ({(resp or b'')[:60]!r})")
    resp = raw_exchange(nd, post_head(GW_BODY_MAX + 1), wait=5)
    check(resp is not None and resp.startswith(b"HTTP/1.1 413") and b"too_large" in resp,
          f"Content-Length GW_BODY_MAX + 1 → 413 before the body ({(resp or b'')[:60]!r})")
    # A chunked body has no length up front: GW_BODY_MAX bytes are read, one more
    # closes the connection (nothing can be answered mid-upload).
    chunked = (b"POST /api/v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: application/cbor\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")

    def chunks(n):
        step = 1 << 20
        out = []
        while n > 0:
            k = min(step, n)
            out.append(b"%x\r\n" % k + bytes(k) + b"\r\n")
            n -= k
        return b"".join(out) + b"0\r\n\r\n"
    resp = raw_exchange(nd, chunked, chunks(GW_BODY_MAX), wait=30)
    check(resp is not None and resp.startswith(b"HTTP/1.1 400") and b"malformed_cbor" in resp,
          f"chunked body of exactly GW_BODY_MAX → read, 400 ({(resp or b'')[:60]!r})")
    resp = raw_exchange(nd, chunked, chunks(GW_BODY_MAX + 1), wait=30)
    check(resp is not None and not resp.startswith(b"HTTP/1.1 4"),
          f"chunked body of GW_BODY_MAX + 1 → connection closed, no answer ({(resp or b'')[:60]!r})")
    check(resp is not None and not resp.startswith(b"HTTP/1.1 2"), "… and nothing accepted")
    # One CBOR transaction: CHAIN_TX_MAX_BYTES goes on to the decoder, one more is 413.
    for n, want in ((CHAIN_TX_MAX_BYTES, 400), (CHAIN_TX_MAX_BYTES + 1, 413)):
        body = b"\xa1" + bytes(n - 1)  # a map head: "one transaction"
        st, _, doc = jreq(nd, "POST", "/api/v1/tx", body, "application/cbor")
        check(st == want, f"one CBOR tx of {n} bytes → {want} ({st} {err_code(doc)})")
    # Batches: GW_BATCH_MAX elements are taken (each refused on its own merits,
    # one receipt each), one more is 413, for CBOR and for JSON.
    for n in (GW_BATCH_MAX, GW_BATCH_MAX + 1):
        st, _, doc = jreq(nd, "POST", "/api/v1/tx", cbor_array([b"\x00"] * n), "application/cbor")
        if n == GW_BATCH_MAX:
            rs = (doc or {}).get("receipts", [])
            check(st != 413 and len(rs) == n, f"CBOR batch of {n} → {n} receipts ({st} {len(rs)})")
        else:
            check(st == 413 and err_code(doc) == "too_large", f"CBOR batch of {n} → 413 ({st})")
        body = ("[" + ",".join(["1"] * n) + "]").encode()
        st, _, doc = jreq(nd, "POST", "/api/v1/tx", body, "application/json")
        if n == GW_BATCH_MAX:
            rs = (doc or {}).get("receipts", [])
            check(st != 413 and len(rs) == n, f"JSON batch of {n} → {n} receipts ({st} {len(rs)})")
        else:
            check(st == 413 and err_code(doc) == "too_large", f"JSON batch of {n} → 413 ({st})")


def main():
    lib.require_built()
    os.environ["PROVENA_GW_RATE"] = "10"   # the documented default, explicit here
    os.environ["PROVENA_GW_BURST"] = "40"
    c = lib.Cluster(1, name="gateway")
    nd = c.nodes[0]
    try:
        nd.start()
        c.leader()
        run(c, nd)
    except Exception:
        c.dump_logs()
        raise
    finally:
        nd.stop()
        keep = bool(FAILS) or bool(os.environ.get("PROVENA_KEEP"))
        if keep:
            print(f"work dir kept: {c.dir}")
        c.shutdown(keep=keep)
    if FAILS:
        print(f"{len(FAILS)} checks failed:\n  " + "\n  ".join(FAILS))
        return 1
    print("all gateway checks passed")
    return 0


def run(c, nd):
    G = lib.GTIN
    # ---- writes: one CBOR tx, one JSON tx, a batch, wait=0 ---------------------------
    txid, hexcbor = c.mint(["S1", "S2", "S3"], lot="L1")
    st, _, doc = jreq(nd, "POST", "/api/v1/tx", bytes.fromhex(hexcbor), "application/cbor")
    check(st == 200 and doc.get("status") == "accepted" and doc.get("tx") == txid,
          f"POST one CBOR tx → 200 accepted ({st} {doc})")
    check(isinstance(doc.get("height"), int) and doc["height"] >= 1, "receipt has a height")

    jid, jtext = c.mint(["J1"], lot="L1", json_form=True)
    st, _, doc = jreq(nd, "POST", "/api/v1/tx", jtext.encode(), "application/json")
    check(st == 200 and doc.get("tx") == jid and doc.get("status") == "accepted",
          f"POST one JSON tx → 200 accepted ({st} {doc})")

    b1 = c.mint(["B1"], lot="L2")
    b2 = c.mint(["B2"], lot="L2", nonce=c.nonce + 1)  # built before b1 is in the ledger
    body = cbor_array([bytes.fromhex(b1[1]), bytes.fromhex(b2[1])])
    st, _, doc = jreq(nd, "POST", "/api/v1/tx", body, "application/cbor")
    rs = (doc or {}).get("receipts", [])
    check(st == 200 and [r.get("status") for r in rs] == ["accepted", "accepted"]
          and [r.get("tx") for r in rs] == [b1[0], b2[0]], f"CBOR batch → 200, two receipts ({st} {doc})")

    q = c.mint(["Q1"], lot="L1")
    st, _, doc = jreq(nd, "POST", "/api/v1/tx?wait=0", bytes.fromhex(q[1]), "application/cbor")
    check(st == 202 and doc.get("tx") == q[0], f"?wait=0 → 202 with the id ({st} {doc})")
    c.wait_tx_everywhere([q[0]])

    # ---- keep-alive: a phone or a scanner reuses its connection -----------------------
    conn = http.client.HTTPConnection("127.0.0.1", nd.http_port, timeout=lib.scaled(10))
    try:
        for path in (f"/01/{G}/21/S1", "/api/v1/head", "/no/such/route", f"/api/v1/units/{G}/S2"):
            conn.request("GET", path, headers={"Accept": "application/json"})
            resp = conn.getresponse()
            resp.read()
            sock = conn.sock
            check(sock is not None and (resp.getheader("Connection") or "").lower() != "close",
                  f"GET {path} keeps the connection open ({resp.status}, "
                  f"Connection: {resp.getheader('Connection')})")
    finally:
        conn.close()

    # ---- rule refusals ----------------------------------------------------------------
    # the same serial again with a fresh nonce: duplicate_unit (409)
    dup = c.mint(["S1"], lot="L1")
    st, _, doc = jreq(nd, "POST", "/api/v1/tx", bytes.fromhex(dup[1]), "application/cbor")
    check(st == 409 and err_code(doc) == "duplicate_unit" and doc.get("status") == "rejected",
          f"duplicate serial → 409 duplicate_unit ({st} {doc})")
    # an old nonce: stale_nonce (409)
    stale = lib.txtool("mint", c.genesis, c.brand_key, 1, G, "L1", "STALE1")[0]
    st, _, doc = jreq(nd, "POST", "/api/v1/tx", bytes.fromhex(stale[1]), "application/cbor")
    check(st == 409 and err_code(doc) == "stale_nonce", f"old nonce → 409 stale_nonce ({st} {doc})")
    # a flipped signature byte: bad_signature (422), nothing changes
    good = c.mint(["SIGX"], lot="L1")
    raw = bytearray(bytes.fromhex(good[1]))
    raw[10] ^= 0x01  # inside the 64-byte sig (the first key is "sig")
    st, _, doc = jreq(nd, "POST", "/api/v1/tx", bytes(raw), "application/cbor")
    check(st == 422 and err_code(doc) == "bad_signature", f"bad signature → 422 ({st} {doc})")
    st, _, _ = jreq(nd, "GET", f"/api/v1/units/{G}/SIGX")
    check(st == 404, "a refused mint changed nothing")
    # signed for another chain: wrong_chain (422)
    other = os.path.join(c.dir, "other-genesis.json")
    with open(c.genesis) as f:
        gdoc = json.load(f)
    gdoc["chain"] = "another-network"
    with open(other, "w") as f:
        json.dump(gdoc, f)
    wc = lib.txtool("mint", other, c.brand_key, 999, G, "L1", "WC1")[0]
    st, _, doc = jreq(nd, "POST", "/api/v1/tx", bytes.fromhex(wc[1]), "application/cbor")
    check(st == 422 and err_code(doc) == "wrong_chain", f"other chain → 422 wrong_chain ({st} {doc})")

    # ---- body errors ----------------------------------------------------------------------
    st, _, doc = jreq(nd, "POST", "/api/v1/tx", b"{not json", "application/json")
    check(st == 400 and err_code(doc) == "malformed_json", f"bad JSON → 400 malformed_json ({st})")
    st, _, doc = jreq(nd, "POST", "/api/v1/tx", b"\x01\x02", "application/cbor")
    check(st == 400 and err_code(doc) == "malformed_cbor", f"bad CBOR → 400 malformed_cbor ({st})")
    st, _, doc = jreq(nd, "POST", "/api/v1/tx", b"\xa1\x61", "application/cbor")
    check(st == 400 and err_code(doc) in ("malformed", "non_canonical"),
          f"truncated tx → 400 ({st} {doc})")
    st, _, doc = jreq(nd, "POST", "/api/v1/tx", b"x", "text/plain")
    check(st == 415 and err_code(doc) == "unsupported_media_type", f"text/plain → 415 ({st})")
    st, _, doc = jreq(nd, "POST", "/api/v1/tx", b'{"type":"mint"}', "application/json")
    check(st == 422 and err_code(doc) == "malformed" and doc.get("status") == "rejected",
          f"JSON tx missing fields → 422 with the field named ({st} {doc})")
    # body, transaction and batch sizes at their limits and one past
    limits(nd)

    # ---- routing errors ---------------------------------------------------------------------
    st, _, doc = jreq(nd, "GET", "/nope")
    check(st == 404 and err_code(doc) == "not_found", f"unknown route → 404 ({st})")
    st, hd, doc = jreq(nd, "GET", "/api/v1/tx")
    check(st == 405 and err_code(doc) == "method_not_allowed" and "POST" in hd.get("allow", ""),
          f"GET /api/v1/tx → 405 with Allow ({st} {hd.get('allow')})")
    st, hd, doc = jreq(nd, "DELETE", "/api/v1/head")
    check(st == 405 and "GET" in hd.get("allow", ""), f"DELETE head → 405 ({st})")
    st, _, doc = jreq(nd, "GET", "/01/123/21/x")
    check(st == 400 and err_code(doc) == "bad_unit", f"bad GTIN → 400 bad_unit ({st})")
    st, _, doc = jreq(nd, "GET", "/api/v1/tx/zz")
    check(st == 400, f"bad tx id → 400 ({st})")
    st, _, doc = jreq(nd, "GET", "/api/v1/tx/" + "00" * 32)
    check(st == 404 and err_code(doc) == "not_found", f"unknown tx → 404 ({st})")
    st, _, doc = jreq(nd, "GET", "/api/v1/blocks/999999")
    check(st == 404, f"block beyond head → 404 ({st})")
    st, _, doc = jreq(nd, "GET", "/api/v1/units/%s/S1/history?limit=x" % G)
    check(st == 400 and err_code(doc) == "bad_query", f"bad limit → 400 bad_query ({st})")

    # ---- resolution: JSON ---------------------------------------------------------------------
    st, hd, doc = jreq(nd, "GET", f"/01/{G}/21/S1?region=de")
    check(st == 200 and hd.get("content-type", "").startswith("application/json"), f"resolve JSON ({st})")
    u, v, h = doc.get("unit", {}), doc.get("verdict", {}), doc.get("history", [])
    check(u.get("gtin") == G and u.get("serial") == "S1" and u.get("lot") == "L1",
          f"unit fields ({u})")
    check(v.get("status") == "genuine" and v.get("reasons") == [], f"verdict genuine ({v})")
    check(len(h) >= 1 and h[0].get("type") == "mint" and h[0].get("tx") == txid
          and all(k in h[0] for k in ("time", "actor", "height", "tx")), f"history ({h})")
    st, _, doc = jreq(nd, "GET", f"/01/{G}/10/L1/21/S1")
    check(st == 200 and doc["verdict"]["status"] == "genuine", f"/10/lot path form ({st})")

    st, _, doc = jreq(nd, "GET", f"/01/{G}/21/NOSUCH")
    check(st == 404 and doc.get("verdict", {}).get("status") == "not_genuine"
          and "unknown_serial" in doc["verdict"].get("reasons", []), f"unknown serial → 404 not_genuine ({doc})")

    # ---- labels: PNG → zbarimg → the exact URL, which resolves ------------------------------------
    st, hd, png = raw_request(nd, "GET", f"/api/v1/units/{G}/S1/label.png")
    check(st == 200 and hd.get("content-type") == "image/png" and png[:8] == b"\x89PNG\r\n\x1a\n",
          f"label.png ({st})")
    st, _, ujs = jreq(nd, "GET", f"/api/v1/units/{G}/S1")
    sig = ujs["unit"]["label_sig"]
    expected = f"{nd.http}/01/{G}/21/S1?10=L1&sig={sig}"
    if shutil.which("zbarimg"):
        path = os.path.join(c.dir, "label-S1.png")
        with open(path, "wb") as f:
            f.write(png)
        out = subprocess.run(["zbarimg", "--quiet", "--raw", path], capture_output=True,
                             text=True, timeout=60).stdout.strip()
        check(out == expected, f"zbarimg decodes the exact URL ({out!r} vs {expected!r})")
        p = urllib.parse.urlsplit(out)
        st, _, doc = jreq(nd, "GET", p.path + "?" + p.query)
        check(st == 200 and doc["verdict"]["status"] == "genuine",
              f"the decoded URL resolves, genuine ({st} {doc.get('verdict')})")
    else:
        check(False, "zbarimg is installed")
    st, hd, svg = raw_request(nd, "GET", f"/api/v1/units/{G}/S1/label.svg")
    check(st == 200 and hd.get("content-type") == "image/svg+xml" and svg.startswith(b"<svg"),
          f"label.svg ({st})")
    st, _, doc = jreq(nd, "GET", f"/api/v1/units/{G}/NOSUCH/label.png")
    check(st == 404 and err_code(doc) == "unknown_unit", f"label of unknown unit → 404 ({st})")

    # a label whose signature was tampered with
    bad = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    st, _, doc = jreq(nd, "GET", f"/01/{G}/21/S1?10=L1&sig={bad}")
    check(doc["verdict"]["status"] == "not_genuine"
          and "bad_label_signature" in doc["verdict"]["reasons"], f"tampered sig → not_genuine ({doc['verdict']})")
    st, _, doc = jreq(nd, "GET", f"/01/{G}/21/S1?10=L9&sig={sig}")
    check(doc["verdict"]["status"] == "not_genuine", "label with another lot → not_genuine")
    st, _, doc = jreq(nd, "GET", f"/01/{G}/21/S2?10=L1&sig={sig}")
    check(doc["verdict"]["status"] == "not_genuine", "S1's signature on S2 → not_genuine")

    # ---- resolution: HTML page ------------------------------------------------------------
    st, hd, html = raw_request(nd, "GET", f"/01/{G}/21/S1?10=L1&sig={sig}",
                               headers={"Accept": "text/html"})
    text = html.decode("utf-8", "replace")
    check(st == 200 and hd.get("content-type", "").startswith("text/html"), f"page ({st})")
    check("Genuine" in text and "test model" in text and "Report suspected fake" in text
          and "<script" not in text.lower() and len(html) < 30 * 1024,
          f"page content, no JS, {len(html)} bytes < 30 KB")
    st, _, html404 = raw_request(nd, "GET", f"/01/{G}/21/NOSUCH", headers={"Accept": "text/html"})
    check(st == 404 and b"Not genuine" in html404, "unknown serial page says Not genuine")

    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    if chrome:
        shot = os.path.join(os.path.dirname(nd.log), "gateway-page.png")
        url = f"{nd.http}/01/{G}/21/S1?10=L1&sig={sig}"
        args = [chrome, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--window-size=390,844", "--user-data-dir=" + os.path.join(c.dir, "chrome")]
        dom = subprocess.run(args + ["--dump-dom", url], capture_output=True, text=True,
                             timeout=lib.scaled(90)).stdout
        subprocess.run(args + [f"--screenshot={shot}", url], capture_output=True,
                       timeout=lib.scaled(90))
        check("Genuine" in dom and "History" in dom, "Chromium renders the verdict text")
        ok = os.path.exists(shot) and os.path.getsize(shot) > 1000
        check(ok, f"phone-viewport screenshot at {shot}")
        if ok:
            keep_dir = os.environ.get("PROVENA_ARTIFACTS", os.path.join(lib.BUILD, "artifacts"))
            os.makedirs(keep_dir, exist_ok=True)
            shutil.copy(shot, os.path.join(keep_dir, "gateway-page.png"))
    else:
        check(False, "chromium is installed")

    # ---- the /api/v1 reads --------------------------------------------------------------
    st, _, doc = jreq(nd, "GET", f"/api/v1/units/{G}/S1")
    check(st == 200 and doc["verdict"]["status"] == "genuine" and doc["unit"]["serial"] == "S1",
          "GET unit")
    st, _, doc = jreq(nd, "GET", f"/api/v1/units/{G}/S1/history?from=0&limit=1")
    check(st == 200 and len(doc.get("history", [])) == 1 and doc["history"][0]["type"] == "mint",
          f"GET history ({doc})")
    st, _, doc = jreq(nd, "GET", f"/api/v1/lots/{G}/L1?limit=2")
    check(st == 200 and doc["lot"]["lot"] == "L1" and len(doc["units"]) == 2 and doc.get("next"),
          f"GET lot, first page ({doc})")
    st, _, doc2 = jreq(nd, "GET", f"/api/v1/lots/{G}/L1?limit=2&after={doc.get('next')}")
    check(st == 200 and not set(doc2.get("units", [])) & set(doc["units"]), "GET lot, next page")
    # page sizes at their bound (GW_LOT_PAGE_MAX 1000, GW_HISTORY_MAX 200) and one past
    for path, top in ((f"/api/v1/lots/{G}/L1", 1000), (f"/api/v1/units/{G}/S1/history", 200)):
        st, _, doc = jreq(nd, "GET", f"{path}?limit={top}")
        check(st == 200, f"GET {path}?limit={top} → 200 ({st} {err_code(doc)})")
        st, _, doc = jreq(nd, "GET", f"{path}?limit={top + 1}")
        check(st == 400 and err_code(doc) == "bad_query", f"GET {path}?limit={top + 1} → 400 ({st})")
    st, _, doc = jreq(nd, "GET", f"/api/v1/tx/{txid}")
    check(st == 200 and doc["receipt"]["status"] == "accepted" and doc["tx"]["type"] == "mint",
          f"GET tx ({st})")
    height = doc["receipt"]["height"]
    st, _, doc = jreq(nd, "GET", f"/api/v1/blocks/{height}")
    check(st == 200 and txid in doc.get("txs", []) and doc["header"]["height"] == height,
          f"GET block JSON ({doc})")
    st, hd, blk = raw_request(nd, "GET", f"/api/v1/blocks/{height}?format=cbor")
    check(st == 200 and hd.get("content-type") == "application/cbor" and blk[:1] == b"\xa2",
          f"GET block CBOR ({st} {blk[:4]!r})")
    # block ranges: what a node catching up (and chain audit) downloads
    st, _, doc = jreq(nd, "GET", "/api/v1/blocks?from=1&limit=2")
    bl = doc.get("blocks", []) if isinstance(doc, dict) else []
    check(st == 200 and doc.get("from") == 1 and doc.get("count") == 2 and len(bl) == 2
          and [b["header"]["height"] for b in bl] == [1, 2], f"GET blocks range JSON ({st} {doc})")
    st, _, one = jreq(nd, "GET", "/api/v1/blocks/2")
    check(bl and bl[1] == one, "a range holds the same blocks as the single-block route")
    st, hd, rng = raw_request(nd, "GET", f"/api/v1/blocks?from=1&limit={height}&format=cbor")
    st1, _, b1 = raw_request(nd, "GET", "/api/v1/blocks/1?format=cbor")
    # a definite array of `height` byte strings, the first of which is block 1 as stored
    want_head = bytes([0x80 | height]) if height < 24 else bytes([0x98, height])
    check(st == 200 and hd.get("content-type") == "application/cbor"
          and rng.startswith(want_head) and b1 in rng, f"GET blocks range CBOR ({st} {rng[:4]!r})")
    for q, code in (("from=0", 400), ("limit=5", 400), ("from=1&limit=0", 400),
                    ("from=1&limit=1001", 400), ("from=1&limit=x", 400), ("from=-3", 400),
                    ("from=1&format=xml", 400), ("from=999999", 404)):
        st, _, doc = jreq(nd, "GET", f"/api/v1/blocks?{q}")
        want = "not_found" if code == 404 else "bad_query"
        check(st == code and err_code(doc) == want, f"GET blocks?{q} → {code} {want} ({st} {doc})")
    st, _, head = jreq(nd, "GET", "/api/v1/head")
    check(st == 200 and head["height"] >= height and len(head["state_digest"]) == 64
          and "applied_index" in head and len(head["chain_id"]) == 64, f"GET head ({head})")
    st, _, doc = jreq(nd, "GET", "/api/v1/participants")
    ids = [p["id"] for p in doc.get("participants", [])]
    check(st == 200 and "acme" in ids, f"GET participants ({ids})")
    st, _, doc = jreq(nd, "GET", "/api/v1/participants/acme")
    check(st == 200 and doc.get("role") == "brand", f"GET participant ({doc})")
    st, _, doc = jreq(nd, "GET", "/api/v1/participants/nobody")
    check(st == 404, "unknown participant → 404")
    st, _, doc = jreq(nd, "GET", f"/api/v1/nonce/{c.brand_pub}")
    check(st == 200 and doc.get("next", 0) > 1, f"GET nonce ({doc})")
    st, _, doc = jreq(nd, "GET", "/api/v1/status")
    check(st == 200 and doc.get("id") == 1 and doc.get("role") == "leader" and doc.get("leader") == 1
          and doc.get("term", 0) >= 1 and isinstance(doc.get("peers"), list), f"GET status ({doc})")
    st, _, doc = jreq(nd, "GET", "/api/v1/genesis")
    check(st == 200 and doc.get("chain") == "test-gateway", f"GET genesis ({st})")

    # ---- reports --------------------------------------------------------------------------------
    st, _, doc = jreq(nd, "POST", "/api/v1/reports",
                      json.dumps({"unit": f"{G}/S1", "note": "logo <b>wrong</b>"}).encode(),
                      "application/json")
    check(st == 202 and doc.get("status") == "recorded", f"report JSON → 202 ({st} {doc})")
    # the form from another client (one report per client and unit a day)
    st, hd, body = raw_request(nd, "POST", "/api/v1/reports",
                               urllib.parse.urlencode({"unit": f"{G}/S1", "note": "odd"}).encode(),
                               {"Content-Type": "application/x-www-form-urlencoded"},
                               source="127.0.0.9")
    check(st == 202 and b"Thank you" in body, f"report form → 202 page ({st})")
    st, _, doc = jreq(nd, "POST", "/api/v1/reports",
                      json.dumps({"unit": f"{G}/S1", "note": "x" * 300}).encode(), "application/json")
    check(st == 422, f"note over 256 → 422 ({st})")
    st, _, doc = jreq(nd, "POST", "/api/v1/reports", b'{"unit":"nope"}', "application/json")
    check(st == 400 and err_code(doc) == "bad_unit", f"report of a bad unit → 400 ({st})")

    # ---- rate limit: a flood from one client leaves another alone --------------------------------
    codes = []
    for _ in range(120):
        st, _, _ = jreq(nd, "GET", f"/01/{G}/21/S2", source="127.0.0.2")
        codes.append(st)
    st_other, _, _ = jreq(nd, "GET", f"/01/{G}/21/S2", source="127.0.0.3")
    check(429 in codes and codes[0] == 200, f"flood from 127.0.0.2 is limited ({codes.count(429)} × 429)")
    check(st_other == 200, f"another client is not limited ({st_other})")
    # the bucket refills while the other client is served: flood again until refused
    for _ in range(120):
        st, _, doc = jreq(nd, "GET", f"/01/{G}/21/S2", source="127.0.0.2")
        if st == 429:
            break
    check(st == 429 and err_code(doc) == "rate_limited", f"429 carries rate_limited ({st} {doc})")

    # ---- flags through the CLI, if it is built ---------------------------------------------------
    if os.path.exists(CLI):
        env = dict(os.environ, PROVENA_NODE=nd.http, PROVENA_KEY=c.brand_key)
        r = subprocess.run([CLI, "flag", "--reason", "recalled", f"{G}/S3"], env=env,
                           capture_output=True, text=True, timeout=lib.scaled(60))
        if r.returncode == 0:
            st, _, doc = jreq(nd, "GET", f"/01/{G}/21/S3")
            check(doc["verdict"]["status"] == "recalled" and "recalled" in doc["verdict"]["reasons"],
                  f"a recalled unit's verdict ({doc['verdict']})")
            st, _, html = raw_request(nd, "GET", f"/01/{G}/21/S3")
            check(b"Recalled" in html and b"class=\"b recalled\"" in html, "recalled page banner")
        else:
            print(f"note: provena flag failed ({r.returncode}): {r.stderr.strip()[:200]}")

    # ---- metrics -----------------------------------------------------------------------------
    st, hd, m = raw_request(nd, "GET", "/metrics")
    mt = m.decode()
    check(st == 200 and hd.get("content-type", "").startswith("text/plain"), "GET /metrics")
    for needle in ('provena_http_requests_total{route="resolve",status="200"}',
                   'provena_http_requests_total{route="unmatched",status="404"}',
                   'provena_scans_recorded_total{kind="probe"}',
                   'provena_scans_recorded_total{kind="report"}',
                   "provena_commit_latency_seconds_bucket", "provena_raft_term",
                   'provena_raft_role{role="leader"} 1', "provena_lmdb_bytes"):
        check(needle in mt, f"metrics has {needle}")
    vals = {ln.split()[0]: ln.split()[-1] for ln in mt.splitlines() if ln and ln[0] != "#"}
    check(int(vals.get("provena_scan_batches_total", "0")) >= 1,
          f"scans batches counted ({vals.get('provena_scan_batches_total')})")
    check(vals.get("provena_scans_dropped_total") == "0", "no scan dropped")
    lb = int(vals.get("provena_lmdb_bytes", "0"))
    check(0 < lb < (1 << 30), f"lmdb bytes in use, not the map's size ({lb})")
    probes = [ln for ln in mt.splitlines() if ln.startswith('provena_scans_recorded_total{kind="probe"}')]
    check(probes and int(probes[0].split()[-1]) >= 1, "probes counted")
    check(any(ln.startswith("provena_rate_limited_total ") and int(ln.split()[-1]) > 0
              for ln in mt.splitlines()), "rate-limited requests counted")

    # ---- garbage never crashes the node ------------------------------------------------------
    for junk in (b"GARBAGE\r\n\r\n", b"GET /" + b"A" * 70000 + b" HTTP/1.1\r\n\r\n",
                 b"POST /api/v1/tx HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
        try:
            s = socket.create_connection(("127.0.0.1", nd.http_port), timeout=lib.scaled(5))
            s.sendall(junk)
            s.recv(1024)
            s.close()
        except OSError:
            pass
    st, _, _ = jreq(nd, "GET", "/api/v1/head")
    check(st == 200 and nd.alive(), "node still serving after garbage")


if __name__ == "__main__":
    sys.exit(main())
