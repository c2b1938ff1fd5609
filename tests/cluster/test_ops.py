"""Operations no other cluster test reaches, on a real node:

- a JSON array of transactions on POST /api/v1/tx: one receipt per element, in
  order, a bad element refused on its own while the others commit;
- GET /api/v1/alerts: refused without the admin token, and after a customer
  reports a unit as fake from a second network, the unit is listed with the reason `reported_fake`;
  `since` after the alert hides it;
- a Raft log file corrupted while the node was stopped: the node refuses to start,
  exits non-zero, and says which entry is bad (it never serves from it).
"""

import http.client
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import scaled, wait_for  # noqa: E402



def json_batch(c, nd):
    n0 = c.next_nonces(2)
    a = c.mint(["JA1"], lot="J1", json_form=True, nonce=n0)
    b = c.mint(["JB1"], lot="J1", json_form=True, nonce=n0 + 1)
    bad = json.loads(a[1])
    bad["nonce"] = str(n0 + 7)  # changes what was signed: the signature fails
    body = "[" + ",".join([a[1], b[1], json.dumps(bad)]) + "]"
    st, doc = nd.request("POST", "/api/v1/tx", body.encode(), "application/json")
    rs = (doc or {}).get("receipts", [])
    assert st == 200 and len(rs) == 3, (st, doc)
    assert [r.get("tx") for r in rs[:2]] == [a[0], b[0]], rs
    assert [r.get("status") for r in rs] == ["accepted", "accepted", "rejected"], rs
    c.wait_tx_everywhere([a[0], b[0]])
    for s in ("JA1", "JB1"):
        st, u = nd.get(f"/api/v1/units/{lib.GTIN}/{s}")
        assert st == 200, (s, st, u)
    # an empty array and a non-array are refused with their codes
    st, doc = nd.request("POST", "/api/v1/tx", b"[]", "application/json")
    assert st == 400 and doc["error"]["code"] == "malformed_json", (st, doc)
    print("ok: JSON batch → one receipt per element in order; the bad one alone refused")


def alerts(c, nd):
    st, doc = nd.get("/api/v1/alerts")
    assert st == 401 and doc["error"]["code"] == "unauthorized", (st, doc)
    rc, tok, err = nd.dashboard_login(c.brand_key)
    assert rc == 0 and len(tok) == 64, (rc, tok, err)
    st, doc = nd.get("/api/v1/alerts", tok)
    assert st == 200 and doc["alerts"] == [], (st, doc)
    st, doc = nd.get("/api/v1/alerts?since=x", tok)
    assert st == 400, (st, doc)
    txid, hexcbor = c.mint(["AL1"], lot="A1")
    st, doc = nd.submit_cbor(hexcbor)
    assert st == 200, (st, doc)
    # two customers of two networks (127.0.0.0/24, 127.0.1.0/24): a report is a scan
    # signal, and one network's alone never turns a unit suspicious
    for src in ("127.0.0.1", "127.0.1.1"):
        conn = http.client.HTTPConnection("127.0.0.1", nd.http_port, timeout=scaled(20),
                                          source_address=(src, 0))
        conn.request("POST", "/api/v1/reports",
                     json.dumps({"unit": f"{lib.GTIN}/AL1", "note": "logo misprinted"}).encode(),
                     {"Content-Type": "application/json", "Accept": "application/json"})
        r = conn.getresponse()
        st = r.status
        conn.close()
        assert st == 202, (src, st)

    def listed():
        st, doc = nd.get("/api/v1/alerts", tok)
        assert st == 200, (st, doc)
        return [a for a in doc["alerts"] if a.get("serial") == "AL1"]
    got = wait_for(listed, scaled(20), "the reported unit in /api/v1/alerts")[0]
    assert got["type"] == "suspicious" and got["gtin"] == lib.GTIN, got
    assert "reported_fake" in got["reasons"], got
    later = got["time"] + 1
    st, doc = nd.get(f"/api/v1/alerts?since={later}", tok)
    assert st == 200 and not [a for a in doc["alerts"] if a.get("serial") == "AL1"], doc
    print(f"ok: alerts: 401 without a session; a reported unit listed ({got['reasons']}); "
          "since hides older alerts")


def mdb_entries(dump):
    """(header lines, [(key hex, value hex)], trailer) of an mdb_dump text."""
    lines = dump.splitlines()
    end = lines.index("HEADER=END")
    head, body = lines[:end + 1], lines[end + 1:]
    stop = body.index("DATA=END")
    pairs = [(body[i].strip(), body[i + 1].strip()) for i in range(0, stop, 2)]
    return head, pairs, body[stop:]


def corrupt_raft_log(c, nd):
    nd.stop()
    raft = os.path.join(nd.data, "raft")
    assert os.path.exists(os.path.join(raft, "data.mdb")), os.listdir(nd.data)
    dump = subprocess.run(["mdb_dump", "-s", "log", raft], check=True, capture_output=True,
                          text=True).stdout
    head, pairs, tail = mdb_entries(dump)
    assert len(pairs) >= 3, f"expected a few log entries, got {len(pairs)}"
    key, val = pairs[len(pairs) // 2]
    index = int(key, 16)
    bad = "0" * 16 + val[16:]  # the entry's term (first 8 bytes) becomes 0: impossible
    text = "\n".join(head + [" " + key, " " + bad] + tail) + "\n"
    subprocess.run(["mdb_load", "-s", "log", raft], input=text, check=True, text=True,
                   capture_output=True)
    before = len(nd.log_text())
    log = open(nd.log, "ab")
    p = subprocess.run([lib.NODE_BIN, "--genesis", c.genesis, "--id", str(nd.id), "--data",
                        nd.data, "--key", nd.key, "--log-level", "info", *nd.link_args()],
                       stdout=log, stderr=log,
                       stdin=subprocess.DEVNULL, timeout=scaled(30))
    log.close()
    out = nd.log_text()[before:]
    assert p.returncode != 0, f"node started on a corrupted Raft log:\n{out}"
    assert "raft" in out and f"entry {index}: bad term/type" in out, out
    print(f"ok: corrupted Raft log entry {index} → the node refuses to start "
          f"(exit {p.returncode}): {out.strip().splitlines()[-1]}")


def main():
    lib.require_built()
    c = lib.Cluster(1, name="ops")
    nd = c.nodes[0]
    try:
        nd.start()
        c.leader()
        json_batch(c, nd)
        alerts(c, nd)
        corrupt_raft_log(c, nd)
        print("test_ops: OK")
        return 0
    except Exception:
        c.dump_logs()
        raise
    finally:
        nd.stop() if nd.alive() else None
        c.shutdown()


if __name__ == "__main__":
    sys.exit(main())
