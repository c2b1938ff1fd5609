"""`provena mint` recovers lost and stale submissions (cli_mint.c resync).

The CLI signs one mint per batch with consecutive nonces and submits them with
?wait=0, so one transaction that never lands, or is refused as stale, makes every
later one stale. Two ways to cause that on a real three-node network:

1. a gateway in front of the node answers the first submission 202 and drops it:
   it never lands, and the ones after it are refused as stale;
2. the leader is killed with kill -9 while the CLI submits through a
   follower, so transactions in flight vanish with it.

Either way the CLI must finish with exit 0 and print every unit once, and the
ledger must hold every printed unit.
"""

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import scaled, wait_for  # noqa: E402

CLI = os.path.join(lib.BUILD, "provena")


def start_mint(c, nd, lot, count):
    """`provena mint` of `count` one-unit batches through nd (anything with .http)."""
    env = dict(os.environ)
    env.pop("PROVENA_KEY", None)
    env.pop("PROVENA_NODE", None)
    return subprocess.Popen([CLI, "mint", "--gtin", lib.GTIN, "--lot", lot, "--count", str(count),
                             "--batch", "1", "--key", c.brand_key, "--node", nd.http],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def brand_next(nd):
    st, doc = nd.get(f"/api/v1/nonce/{nd.cluster.brand_pub}")
    assert st == 200, (st, doc)
    return int(doc["next"])


def finish(p, what):
    out, err = p.communicate(timeout=scaled(240))
    assert p.returncode == 0, f"{what}: provena mint exited {p.returncode}\n{err[-3000:]}"
    units = out.split()
    assert len(units) == len(set(units)), f"{what}: a unit printed twice"
    return units, err


def on_ledger(nd, units):
    for u in units:
        gtin, serial = u.split("/")
        st, doc = nd.get(f"/api/v1/units/{gtin}/{serial}")
        assert st == 200, f"{u} printed by provena mint but not on the ledger: {st} {doc}"


def brand_mints_since(nd, height):
    """Receipt codes of the brand's mint transactions in the blocks after `height`."""
    st, head = nd.get("/api/v1/head")
    assert st == 200, (st, head)
    codes, h = [], height + 1
    while h <= head["height"]:
        st, doc = nd.get(f"/api/v1/blocks?from={h}&limit=1000")
        assert st == 200, (st, doc)
        for blk in doc["blocks"]:
            for txid in blk["txs"]:
                st, t = nd.get(f"/api/v1/tx/{txid}")
                assert st == 200, (st, t)
                if t["tx"]["signer"] == nd.cluster.brand_pub and t["tx"]["type"] == "mint":
                    codes.append(t["receipt"]["code"])
        h += doc["count"]
    return codes


class SwallowFirstPost:
    """A gateway in front of a node that answers the first POST /api/v1/tx itself
    (202, "pending", as the node would for ?wait=0) and drops it: the transaction is
    lost on the way. Everything else is forwarded."""

    def __init__(self, upstream, on_first_post=None):
        self.swallowed = 0
        self.first = on_first_post  # instead of swallowing: run this, then forward
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def relay(self, method):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                if (method == "POST" and self.path.startswith("/api/v1/tx") and outer.first
                        and not outer.swallowed):
                    outer.swallowed += 1
                    outer.first()
                elif method == "POST" and self.path.startswith("/api/v1/tx") and not outer.swallowed:
                    outer.swallowed += 1
                    k = body[0] & 0x1F if body and body[0] >> 5 == 4 else 0
                    doc = ({"receipts": [{"status": "pending"}] * k} if k
                           else {"status": "pending"})
                    self.answer(202, json.dumps(doc).encode(), "application/json")
                    return
                req = urllib.request.Request(upstream + self.path, data=body, method=method)
                for h in ("Content-Type", "Accept"):
                    if self.headers.get(h):
                        req.add_header(h, self.headers[h])
                try:
                    with urllib.request.urlopen(req, timeout=60) as r:
                        st, data, ct = r.status, r.read(), r.headers.get("Content-Type", "")
                except urllib.error.HTTPError as e:
                    st, data, ct = e.code, e.read(), e.headers.get("Content-Type", "")
                self.answer(st, data, ct)

            def answer(self, st, data, ct):
                self.send_response(st)
                self.send_header("Content-Type", ct)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self.relay("GET")

            def do_POST(self):
                self.relay("POST")

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.http = f"http://127.0.0.1:{self.srv.server_address[1]}"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def lost_on_the_way(c):
    ld = c.leader()
    px = SwallowFirstPost(ld.http)
    try:
        p = start_mint(c, px, "RS1", 60)
        units, err = finish(p, "lost on the way")
    finally:
        px.close()
    assert px.swallowed == 1
    assert len(units) == 60, (len(units), err[-2000:])
    on_ledger(ld, units)
    print(f"ok: the first submission lost on the way (the later ones stale behind it); "
          f"provena mint re-signed and landed all {len(units)} units once")


def stale_head(c):
    """The brand signs a tx of its own with the nonce the CLI's first batch
    carries, just before that batch reaches the node: the first batch is refused
    stale, the later ones land. The resync must re-sign only the first one
    (a landed batch signed again would be refused as a duplicate)."""
    ld = c.leader()
    stolen = []
    st, head = ld.get("/api/v1/head")
    assert st == 200, (st, head)

    def steal():
        txid, hexcbor = lib.txtool("mint", c.genesis, c.brand_key, brand_next(ld), lib.GTIN,
                                   "RSX", "STOLEN1")[0]
        st, doc = ld.submit_cbor(hexcbor)
        assert st == 200, (st, doc)
        stolen.append(txid)
    px = SwallowFirstPost(ld.http, on_first_post=steal)
    try:
        p = start_mint(c, px, "RS3", 40)
        units, err = finish(p, "stale head")
    finally:
        px.close()
    assert stolen, "the first POST never came"
    assert len(units) == 40, (len(units), err[-2000:])
    on_ledger(ld, units)
    # The ledger saw the stolen tx, the first batch refused stale, and each batch
    # landing once: a landed batch signed again would add a refused duplicate.
    c.wait_same_head()
    codes = brand_mints_since(ld, head["height"])
    assert sorted(codes) == sorted(["ok"] * 41 + ["stale_nonce"]), \
        f"the brand's mints since the start: {sorted(set(codes))}, {len(codes)} txs"
    print(f"ok: stale: the first batch's nonce taken; provena mint re-signed it alone and "
          f"landed all {len(units)} units once")


def lost_leader(c):
    ld = c.leader()
    via = next(nd for nd in c.nodes if nd is not ld)
    start = brand_next(via)
    p = start_mint(c, via, "RS2", 1000)
    wait_for(lambda: brand_next(via) >= start + 10 or p.poll() is not None, scaled(60),
             "the mint under way")
    killed_mid_mint = p.poll() is None
    ld.proc.send_signal(signal.SIGKILL)
    ld.proc.wait(10)
    ld.proc = None
    units, err = finish(p, "lost")
    assert killed_mid_mint, "the mint ended before the leader was killed (mint too fast?)"
    assert len(units) == 1000, (len(units), err[-2000:])
    survivors = c.alive()
    c.leader(nodes=survivors)
    on_ledger(via, units)
    ld.start()
    c.wait_same_head()
    print(f"ok: lost: leader {ld.id} killed mid-mint; provena mint (through node {via.id}) "
          f"landed all {len(units)} units once")


def main():
    lib.require_built()
    c = lib.Cluster(3, name="mintresync")
    try:
        c.start_all()
        c.leader()
        lost_on_the_way(c)
        stale_head(c)
        lost_leader(c)
        for nd in c.nodes:
            nd.stop()
        print("test_mint_resync: OK")
        return 0
    except Exception:
        c.dump_logs()
        raise
    finally:
        c.shutdown()


if __name__ == "__main__":
    sys.exit(main())
