"""`provena chain audit` against a tampered copy, one test per mismatch kind.

A proxy in front of a real node serves its answers with one lie each; the audit
must exit 1 and name the kind of mismatch (and the height where it applies):
another chain's id, a range that does not decode, a block whose bytes no longer
match its Merkle root, a block at the wrong position, a block whose prev does
not link, a transaction whose signature was altered (its id, and so the Merkle
root, unchanged: only re-verifying the signature catches it), a head id and a
state digest that the blocks do not lead to. The honest node audits clean.
"""

import http.server
import json
import os
import subprocess
import sys
import threading
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import scaled  # noqa: E402

CLI = os.path.join(lib.BUILD, "provena")


def cbor_head(buf, pos):
    b = buf[pos]
    major, info = b >> 5, b & 0x1F
    if info < 24:
        return major, info, pos + 1
    n = {24: 1, 25: 2, 26: 4, 27: 8}[info]
    return major, int.from_bytes(buf[pos + 1:pos + 1 + n], "big"), pos + 1 + n


def split_range(body):
    """[(start, length)] of each block (a byte string) in a CBOR range answer."""
    major, count, pos = cbor_head(body, 0)
    assert major == 4
    out = []
    for _ in range(count):
        major, n, start = cbor_head(body, pos)
        assert major == 2
        out.append((start, n))
        pos = start + n
    return out


def edit_block(body, path, height, fn):
    """Applies fn(bytearray of the block) to block `height` of a range answer
    (same length: the CBOR heads stay valid)."""
    first = int(urllib.parse.parse_qs(urllib.parse.urlparse(path).query)["from"][0])
    body = bytearray(body)
    for i, (start, n) in enumerate(split_range(body)):
        if first + i == height:
            blk = bytearray(body[start:start + n])
            fn(blk)
            assert len(blk) == n
            body[start:start + n] = blk
    return bytes(body)


class Proxy:
    """Forwards GETs to a node; `lie(path, body)` rewrites each answer."""

    def __init__(self, upstream, lie, rewrite_path=None):
        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                path = rewrite_path(self.path) if rewrite_path else self.path
                with urllib.request.urlopen(upstream + path, timeout=30) as r:
                    body, ctype = r.read(), r.headers.get("Content-Type", "")
                body = lie(self.path, body)
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def audit(c, url):
    env = dict(os.environ)
    env.pop("PROVENA_NODE", None)
    p = subprocess.run([CLI, "chain", "audit", "--node", url, "--genesis", c.genesis],
                       capture_output=True, text=True, env=env, timeout=scaled(120))
    return p.returncode, p.stdout + p.stderr


def head_lie(field, value):
    def lie(path, body):
        if path == "/api/v1/head":
            doc = json.loads(body)
            doc[field] = value
            return json.dumps(doc).encode()
        return body
    return lie


def range_lie(fn):
    return lambda path, body: fn(path, body) if path.startswith("/api/v1/blocks?") else body


def main():
    lib.require_built()
    c = lib.Cluster(1, name="audit")
    nd = c.nodes[0]
    try:
        nd.start()
        c.leader()
        for s in ("A1", "A2", "A3", "A4"):  # one block each (each waits for its receipt)
            st, doc = nd.submit_cbor(c.mint([s], lot="AU")[1])
            assert st == 200, (st, doc)
        height = nd.head()["height"]
        assert height >= 4, height
        st, b1 = nd.get("/api/v1/blocks/1")
        assert st == 200, (st, b1)
        id1 = bytes.fromhex(b1["id"])

        rc, out = audit(c, nd.http)
        assert rc == 0 and "audit OK" in out, out

        def flip_prev(blk):
            i = blk.find(b"\x58\x20" + id1)
            assert i >= 0, "block 2 names block 1 as prev"
            blk[i + 2] ^= 0x01

        def flip_sig(blk):
            i = blk.find(b"\x63sig\x58\x40")
            assert i >= 0, "a signed tx in the block"
            blk[i + 6 + 10] ^= 0x01

        def flip_tx_body(blk):
            i = blk.find(b"\x64body")
            assert i >= 0
            blk[i + 12] ^= 0x01

        cases = [
            ("another chain", head_lie("chain_id", "ab" * 32), None,
             "MISMATCH: the node serves chain"),
            ("range not CBOR", range_lie(lambda p, b: b"\xff" * 8), None,
             "MISMATCH at height 1: the range does not decode"),
            ("tx bytes changed (Merkle)", range_lie(lambda p, b: edit_block(b, p, 2, flip_tx_body)),
             None, "MISMATCH at height 2: header or Merkle root does not verify"),
            ("block at the wrong position", lambda p, b: b,
             lambda p: p.replace("from=1&", "from=2&"),
             "MISMATCH at height 1: header height differs from its position"),
            ("prev does not link", range_lie(lambda p, b: edit_block(b, p, 2, flip_prev)), None,
             "MISMATCH at height 2: prev does not link to the block before"),
            ("signature altered", range_lie(lambda p, b: edit_block(b, p, 3, flip_sig)), None,
             "MISMATCH at height 3: tx 0: bad_signature"),
            ("head id", head_lie("id", "11" * 32), None,
             f"MISMATCH at height {height}: head id"),
            ("state digest", head_lie("state_digest", "00" * 32), None,
             f"MISMATCH at height {height}: state digest"),
        ]
        for what, lie, rewrite, want in cases:
            px = Proxy(nd.http, lie, rewrite)
            try:
                rc, out = audit(c, px.url)
            finally:
                px.close()
            assert rc == 1 and want in out, f"{what}: expected exit 1 and {want!r}, got {rc}:\n{out}"
            print(f"ok: audit of a copy with {what} → exit 1, {want!r}")
        nd.stop()
        print("test_audit: OK")
        return 0
    except Exception:
        c.dump_logs()
        raise
    finally:
        c.shutdown()


if __name__ == "__main__":
    sys.exit(main())
