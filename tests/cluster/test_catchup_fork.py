"""Catch-up refuses a validly signed forked history before replaying any of it.

First a fork is made: nodes 1 and 2 run alone from the same genesis (same chain
id, same brand key, same node keys) and commit "fk" mints; its blocks are read
from node 1's gateway and kept; both data directories are wiped. Every block of
the fork is well formed and every transaction in it validly signed. Node 1's
false gateway grafts the fork onto whatever block the catching-up node asks to
extend (prev and time rewritten, Merkle roots intact; block headers carry no
signature), so the range it serves extends node 3's head and each block passes
every rule on replay: only the chain of block ids back from the committed head
id tells it from the real history.

Then the real history: nodes 1 and 2 start again from nothing and commit "cu"
mints past a snapshot; node 3, which never ran, starts and gets the snapshot
marker. The ledger names proxies as the gateways of nodes 1 and 2:
- node 1's serves the fork for every block range;
- node 2's answers HTTP 500 first, then a truncated CBOR body, then passes on.
Node 3 must refuse node 1's fork before it replays a single block (logging
`catch-up: node 1: refused, not the committed history`), refuse node 2's error
and corrupt answers, take the real blocks from node 2 once it serves them, and
end on the cluster's head with no fork unit in its state.
"""

import hashlib
import http.server
import json
import os
import re
import shutil
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import scaled, wait_for  # noqa: E402

SNAPSHOT_THRESHOLD = 16


def cbor_head(buf, pos):
    b = buf[pos]
    major, info = b >> 5, b & 0x1F
    if info < 24:
        return major, info, pos + 1
    n = {24: 1, 25: 2, 26: 4, 27: 8}[info]
    return major, int.from_bytes(buf[pos + 1:pos + 1 + n], "big"), pos + 1 + n


def cbor_put_head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for info, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * width):
            return bytes([major << 5 | info]) + n.to_bytes(width, "big")
    raise ValueError(n)


def split_blocks(body):
    major, count, pos = cbor_head(body, 0)
    assert major == 4, "a CBOR array of blocks"
    out = []
    for _ in range(count):
        major, n, pos = cbor_head(body, pos)
        assert major == 2
        out.append(body[pos:pos + n])
        pos += n
    return out


def encode_blocks(blocks):
    return cbor_put_head(4, len(blocks)) + b"".join(cbor_put_head(2, len(b)) + b for b in blocks)


def fetch_all_blocks(node):
    blocks = []
    while True:
        url = f"{node.http}/api/v1/blocks?from={len(blocks) + 1}&limit=1000&format=cbor"
        try:
            with urllib.request.urlopen(url, timeout=scaled(30)) as r:
                got = split_blocks(r.read())
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return blocks
            raise
        if not got:
            return blocks
        blocks += got


def tagged_hash(tag, msg):
    t = hashlib.sha256(tag).digest()
    return hashlib.sha256(t + t + msg).digest()


def header_at(blk):
    """Offset of the header map: the block map's last key (canonical order puts
    "txs" first), so the header runs to the end of the block."""
    i = blk.rindex(b"\x66header")
    return i + 7


def block_id(blk):
    return tagged_hash(b"provena/block/v1", blk[header_at(blk):])


def field_at(blk, key, head):
    h = header_at(blk)
    i = blk.index(bytes([0x60 | len(key)]) + key + head, h)
    return i + 1 + len(key) + len(head)


def block_time(blk):
    i = field_at(blk, b"time", b"\x1b")
    return int.from_bytes(blk[i:i + 8], "big")


def graft(blocks, prev, after_time):
    """The fork's blocks re-parented onto (prev, after_time): each header's prev
    and time rewritten in place, so every block extends the one below it and
    carries the fork's own, validly signed transactions (its Merkle root still
    holds). Exactly what a peer with the network's keys but another history
    can serve."""
    out = []
    for k, b in enumerate(blocks):
        b = bytearray(b)
        i = field_at(b, b"prev", b"\x58\x20")
        b[i:i + 32] = prev
        i = field_at(b, b"time", b"\x1b")
        b[i:i + 8] = (after_time + 1 + k).to_bytes(8, "big")
        b = bytes(b)
        prev = block_id(b)
        out.append(b)
    return out


class Gateway:
    """Stands where the ledger says a node's gateway is. answer(path) returns
    (status, body, content type) for a block-range request, or None to pass it
    on to the real gateway."""

    def __init__(self, port, upstream, answer):
        self.block_requests = 0
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                got = None
                if self.path.startswith("/api/v1/blocks?") and "cbor" in self.path:
                    outer.block_requests += 1
                    got = answer(self.path)
                if got is None:
                    try:
                        with urllib.request.urlopen(upstream + self.path, timeout=30) as r:
                            got = r.status, r.read(), r.headers.get("Content-Type", "")
                    except urllib.error.HTTPError as e:
                        got = e.code, e.read(), e.headers.get("Content-Type", "")
                st, body, ctype = got
                self.send_response(st)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def main():
    lib.require_built()
    c = lib.Cluster(3, "catchfork", node_args=["--snapshot-threshold", str(SNAPSHOT_THRESHOLD)])
    n1, n2, n3 = c.nodes
    p1, p2 = lib.free_ports(2)
    with open(c.genesis) as f:
        doc = json.load(f)
    doc["nodes"][0]["http"] = f"http://127.0.0.1:{p1}"
    doc["nodes"][1]["http"] = f"http://127.0.0.1:{p2}"
    with open(c.genesis, "w") as f:
        json.dump(doc, f, indent=1)
    gws = []
    try:
        # ---- the fork: same genesis, other transactions ----
        n1.start(extra=("--http", n1.http))
        n2.start(extra=("--http", n2.http))
        ld = c.leader(nodes=[n1, n2])
        fork_ids = []
        for txid, cbor in c.mint_seq(5 * SNAPSHOT_THRESHOLD, "fk"):
            st, body = ld.submit_until_definite(cbor, scaled(30))
            assert st == 200, (st, body)
            fork_ids.append(txid)
        c.wait_tx_everywhere(fork_ids[-1:], nodes=[n1])
        fork = fetch_all_blocks(n1)
        chain_id = bytes.fromhex(lib.txtool("id", c.genesis)[0][0])
        # the Python block id is the node's: the fork's own links check out
        assert [block_id(b) for b in fork[:-1]] == \
            [b[field_at(b, b"prev", b"\x58\x20"):][:32] for b in fork[1:]]
        assert fork[0][field_at(fork[0], b"prev", b"\x58\x20"):][:32] == chain_id
        assert len(fork) >= 5 * SNAPSHOT_THRESHOLD // 2, f"fork of {len(fork)} blocks"
        n1.stop()
        n2.stop()
        shutil.rmtree(n1.data)
        shutil.rmtree(n2.data)
        c.nonce = 0

        # ---- node 1's gateway serves the fork, node 2's fails twice first ----
        def serve_fork(path):
            q = urllib.parse.parse_qs(urllib.parse.urlparse(path).query)
            frm, limit = int(q["from"][0]), int(q["limit"][0])
            if frm < 1 or frm - 1 + limit > len(fork):
                return 404, b'{"error":{"code":"not_found","message":"no block"}}', \
                    "application/json"
            if frm == 1:
                prev, t = chain_id, 0
            else:
                url = f"{n1.http}/api/v1/blocks?from={frm - 1}&limit=1&format=cbor"
                with urllib.request.urlopen(url, timeout=30) as r:
                    below = split_blocks(r.read())[0]
                prev, t = block_id(below), block_time(below)
            return 200, encode_blocks(graft(fork[frm - 1:frm - 1 + limit], prev, t)), \
                "application/cbor"

        n2_answers = []

        def fail_then_pass(path):
            k = len(n2_answers)
            if k == 0:
                n2_answers.append("500")
                return 500, b'{"error":{"code":"storage","message":"try later"}}', \
                    "application/json"
            if k == 1:
                n2_answers.append("truncated")
                with urllib.request.urlopen(n2.http + path, timeout=30) as r:
                    body = r.read()
                return 200, body[:len(body) // 2], "application/cbor"
            n2_answers.append("passed")
            return None

        gws.append(Gateway(p1, n1.http, serve_fork))
        gws.append(Gateway(p2, n2.http, fail_then_pass))

        # ---- the real history, past a snapshot, without node 3 ----
        n1.start(extra=("--http", n1.http))
        n2.start(extra=("--http", n2.http))
        live = [n1, n2]
        ld = c.leader(nodes=live)
        ids = []
        for txid, cbor in c.mint_seq(3 * SNAPSHOT_THRESHOLD, "cu"):
            st, body = ld.submit_until_definite(cbor, scaled(30))
            assert st == 200, (st, body)
            ids.append(txid)
        wait_for(lambda: all("snapshot" in nd.log_text() for nd in live), scaled(20),
                 "a snapshot on both live nodes")
        real_height = ld.head()["height"]
        assert len(fork) >= real_height, \
            f"the fork ({len(fork)} blocks) must reach the real head ({real_height})"

        n3.start()
        c.wait_same_head(timeout=scaled(120))
        c.wait_tx_everywhere(ids[:3] + ids[-3:], nodes=[n3])
        log = n3.log_text()
        m = re.search(r"snapshot installed: height (\d+), index \d+ \((\d+) blocks replayed "
                      r"from height (\d+), last from node (\d+)", log)
        assert m, n3.log_tail(40)
        assert int(m.group(2)) == int(m.group(1)) - int(m.group(3)) > 0, m.group(0)
        assert m.group(4) == "2", f"the blocks came from node {m.group(4)}, not node 2"

        lies = [ln for ln in log.splitlines()
                if "catch-up: node 1: refused, not the committed history" in ln]
        assert lies, n3.log_tail(40)
        assert f"127.0.0.1:{p1}" in lies[0], lies[0]
        assert "nothing of it applied" in lies[0], lies[0]
        assert gws[0].block_requests > 0
        # the fork was refused before the first replay: the refusal precedes the
        # verified line, and no fork unit is in node 3's state
        assert log.index(lies[0]) < log.index("verified back to the committed head id"), \
            n3.log_tail(40)
        for i in (0, len(fork_ids) // 2, len(fork_ids) - 1):
            st, _ = n3.get(f"/api/v1/units/{lib.GTIN}/fk{i}")
            assert st == 404, f"fork unit fk{i} on node 3: HTTP {st}"
            st, _ = n3.get(f"/api/v1/tx/{fork_ids[i]}")
            assert st == 404, f"fork tx {fork_ids[i]} on node 3: HTTP {st}"

        n2_log = [ln for ln in log.splitlines() if "catch-up: node 2:" in ln]
        assert n2_answers[:2] == ["500", "truncated"], n2_answers
        assert any("HTTP 500" in ln for ln in n2_log), "\n".join(n2_log)
        assert any("HTTP 500" not in ln for ln in n2_log), "\n".join(n2_log)
        print(f"ok: fork of {len(fork)} blocks from node 1 refused before replay "
              f"({lies[0].split('catch-up: ', 1)[1][:160]}...)")
        print(f"ok: node 2's HTTP 500 and truncated answer refused: {n2_log}")
        print(f"ok: node 3 replayed {m.group(2)} verified blocks from node 2, same head, "
              f"no fork unit")
        for nd in c.nodes:
            nd.stop()
        print("test_catchup_fork: OK")
        return 0
    except Exception:
        c.dump_logs()
        raise
    finally:
        for g in gws:
            g.close()
        c.shutdown()


if __name__ == "__main__":
    sys.exit(main())
