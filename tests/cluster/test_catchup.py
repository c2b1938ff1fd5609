"""Catch-up from a peer that serves a corrupt block.

Node 1's gateway, as the ledger names it, is a proxy that flips one byte of the
first block of every range it serves. Node 3 is stopped while the others commit
past a snapshot, then restarted: it gets a snapshot marker and fetches the
blocks it misses, asking node 1 first. It must refuse node 1's corrupt range
(logging `catch-up: node 1: ...`), take the blocks from node 2, replay them,
and end with the same head and state digest as the others.
"""

import http.server
import json
import os
import re
import sys
import threading
import urllib.error
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


class CorruptingGateway:
    def __init__(self, port, upstream):
        self.corrupted = 0
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                try:
                    with urllib.request.urlopen(upstream + self.path, timeout=30) as r:
                        st, body = r.status, r.read()
                        ctype = r.headers.get("Content-Type", "")
                except urllib.error.HTTPError as e:
                    st, body, ctype = e.code, e.read(), e.headers.get("Content-Type", "")
                if st == 200 and self.path.startswith("/api/v1/blocks?") and "cbor" in self.path:
                    major, count, pos = cbor_head(body, 0)
                    if major == 4 and count > 0:
                        _, n, start = cbor_head(body, pos)
                        body = bytearray(body)
                        body[start + n // 2] ^= 0x01
                        body = bytes(body)
                        outer.corrupted += 1
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
    c = lib.Cluster(3, "catchup", node_args=["--snapshot-threshold", str(SNAPSHOT_THRESHOLD)])
    n1, n2, n3 = c.nodes
    # the ledger names a proxy as node 1's gateway; node 1 itself listens on its own port
    proxy_port = lib.free_ports(1)[0]
    with open(c.genesis) as f:
        doc = json.load(f)
    doc["nodes"][0]["http"] = f"http://127.0.0.1:{proxy_port}"
    with open(c.genesis, "w") as f:
        json.dump(doc, f, indent=1)
    px = CorruptingGateway(proxy_port, n1.http)
    try:
        n1.start(extra=("--http", n1.http))
        n2.start()
        n3.start()
        ld = c.leader()
        n3.stop()
        live = [n1, n2]
        ld = c.leader(nodes=live)
        ids = []
        for txid, cbor in c.mint_seq(3 * SNAPSHOT_THRESHOLD, "cu"):
            st, doc = ld.submit_until_definite(cbor, scaled(30))
            assert st == 200, (st, doc)
            ids.append(txid)
        wait_for(lambda: all("snapshot" in nd.log_text() for nd in live), scaled(20),
                 "a snapshot on both live nodes")
        n3.start()
        c.wait_same_head(timeout=scaled(90))
        c.wait_tx_everywhere(ids[:3] + ids[-3:], nodes=[n3])
        log = n3.log_text()
        m = re.search(r"snapshot installed: height (\d+), index \d+ \((\d+) blocks replayed", log)
        assert m and int(m.group(2)) > 0, n3.log_tail(30)
        assert px.corrupted > 0, "node 3 never asked node 1's gateway"
        assert "catch-up: node 1:" in log, n3.log_tail(30)
        why = [ln for ln in log.splitlines() if "catch-up: node 1:" in ln][0]
        print(f"ok: node 3 refused node 1's corrupt range ({why.split('catch-up: ', 1)[1]}), "
              f"replayed {m.group(2)} blocks from node 2, same head and state digest")
        for nd in c.nodes:
            nd.stop()
        print("test_catchup: OK")
        return 0
    except Exception:
        c.dump_logs()
        raise
    finally:
        px.close()
        c.shutdown()


if __name__ == "__main__":
    sys.exit(main())
