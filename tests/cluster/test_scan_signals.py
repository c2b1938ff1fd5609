"""Scan signals nobody can forge, against three real provena-node processes.

Every node believes only its fronting proxy (--trusted-proxy 127.0.0.1
--region-header X-Region): the proxy's X-Forwarded-For names the client and
its header the region. A client's own ?region= is at most a refinement of
what the gateway knows, so three anonymous scans with ?region=DE, JP, BR
leave a unit genuine and record no region; one network (one /24) scanning
from three "countries" through three gateways is one witness, not three; two
networks more are corroboration and turn the unit suspicious on every node.
Reports are limited per client and unit (one a day: the second is 429 with
Retry-After), a probe's serial never reaches the ledger (a path-traversal
string is absent from every node's data files), and a code that is no
GTIN/serial is counted in /metrics, never recorded.
"""
import http.client
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

TOKEN = "test-admin-token-scan-signals-0123"


def get(nd, path, xff=None, region=None, method="GET", body=None, ctype=None):
    headers = {"Accept": "application/json"}
    if xff:
        headers["X-Forwarded-For"] = xff
    if region:
        headers["X-Region"] = region
    if ctype:
        headers["Content-Type"] = ctype
    conn = http.client.HTTPConnection("127.0.0.1", nd.http_port, timeout=lib.scaled(20))
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        import json
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            doc = data
        return r.status, doc, dict(r.getheaders())
    finally:
        conn.close()


def verdict(nd, serial):
    st, doc = nd.get(f"/api/v1/units/{lib.GTIN}/{serial}")
    assert st == 200, (st, doc)
    return doc["verdict"]


def analytics(nd):
    st, doc = nd.request("GET", "/api/v1/analytics", headers={"Authorization": "Bearer " + TOKEN})
    assert st == 200, (st, doc)
    return doc


def wait_scans(c, n):
    """Until every node's analytics count at least n scans of known units."""
    lib.wait_for(lambda: all(analytics(nd)["totals"]["scans"] >= n for nd in c.nodes),
                 lib.scaled(30), f"{n} scans replicated to every node")


def metric(nd, name):
    st, text = nd.request("GET", "/metrics", accept="text/plain")
    assert st == 200
    for line in text.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def main():
    lib.require_built()
    c = lib.Cluster(3, name="signals", node_args=(
        "--trusted-proxy", "127.0.0.1", "--region-header", "X-Region",
        "--geoip", "off", "--geoip6", "off"))
    token_file = os.path.join(c.dir, "admin.token")
    with open(token_file, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(token_file, 0o600)
    c.node_args += ["--admin-token-file", token_file]
    passed = 0
    try:
        c.start_all()
        c.leader()
        txid, hexcbor = c.mint(["H1", "N1", "C1", "R1"], lot="L1")
        st, doc = c.nodes[0].submit_cbor(hexcbor)
        assert st == 200 and doc["status"] == "accepted", (st, doc)
        c.wait_tx_everywhere([txid])
        seen = 0

        # 1. the client's hint alone: three anonymous scans with ?region= at three
        # gateways. No region is recorded, the unit stays genuine.
        for nd, hint in zip(c.nodes, ("DE", "JP", "BR")):
            st, doc, _ = get(nd, f"/01/{lib.GTIN}/21/H1?region={hint}")
            assert st == 200, (st, doc)
        seen += 3
        wait_scans(c, seen)
        for nd in c.nodes:
            v = verdict(nd, "H1")
            assert v["status"] == "genuine", ("hints alone", v)
        regions = analytics(c.nodes[0])["scans_by_region"]
        assert not {"DE", "JP", "BR"} & set(regions), ("a hint became a region", regions)
        print("ok: ?region=DE, JP, BR at three gateways: genuine everywhere, no region recorded")
        passed += 1

        # 2. one network (203.0.113.0/24), three addresses, three countries through
        # the proxy at three gateways: one witness — still genuine
        for nd, (ip, reg) in zip(c.nodes, (("203.0.113.5", "DE"), ("203.0.113.6", "JP"),
                                           ("203.0.113.7", "BR"))):
            st, doc, _ = get(nd, f"/01/{lib.GTIN}/21/N1", xff=ip, region=reg)
            assert st == 200, (st, doc)
        seen += 3
        wait_scans(c, seen)
        for nd in c.nodes:
            v = verdict(nd, "N1")
            assert v["status"] == "genuine", ("one network", v)
        print("ok: one /24 in DE, JP, BR through three gateways: genuine (one network)")
        passed += 1

        # 3. corroboration: DE, then JP and BR minutes later from two more networks
        st, doc, _ = get(c.nodes[0], f"/01/{lib.GTIN}/21/C1", xff="203.0.113.5", region="DE")
        assert st == 200
        st, doc, _ = get(c.nodes[1], f"/01/{lib.GTIN}/21/C1", xff="198.51.100.9", region="JP")
        assert st == 200
        seen += 2
        wait_scans(c, seen)
        assert verdict(c.nodes[2], "C1")["status"] == "genuine", "one travelling network"
        st, doc, _ = get(c.nodes[2], f"/01/{lib.GTIN}/21/C1", xff="192.0.2.77", region="BR")
        assert st == 200
        seen += 1

        def suspicious_everywhere():
            return all(verdict(nd, "C1")["status"] == "suspicious" and
                       "impossible_travel" in verdict(nd, "C1")["reasons"] for nd in c.nodes)
        lib.wait_for(suspicious_everywhere, lib.scaled(30), "C1 suspicious on every node")
        print("ok: DE, JP, BR from three networks: one jump genuine, two jumps suspicious "
              "(impossible_travel) on all 3 nodes")
        passed += 1

        # 4. a forwarded address from anyone but the trusted proxy is not believed:
        # the hint refines only a country the gateway knows
        st, doc, _ = get(c.nodes[0], f"/01/{lib.GTIN}/21/H1?region=DE-BY", xff="203.0.113.5",
                         region="DE")
        assert st == 200
        seen += 1
        wait_scans(c, seen)
        regions = analytics(c.nodes[1])["scans_by_region"]
        assert "DE-BY" in regions, ("hint refines the proxy's country", regions)
        print("ok: ?region=DE-BY refines the proxy's DE (recorded DE-BY)")
        passed += 1

        # 5. reports: one per client and unit a day; the second 429 with Retry-After
        rep = '{"unit": "%s/R1", "note": "looks fake"}' % lib.GTIN
        st, doc, _ = get(c.nodes[0], "/api/v1/reports", xff="203.0.113.5", method="POST",
                         body=rep, ctype="application/json")
        assert st == 202, (st, doc)
        st, doc, hdr = get(c.nodes[0], "/api/v1/reports", xff="203.0.113.5", method="POST",
                           body=rep, ctype="application/json")
        assert st == 429 and doc["error"]["code"] == "rate_limited", (st, doc)
        assert int(hdr.get("Retry-After", "0")) > 3600, hdr
        st, doc, _ = get(c.nodes[0], "/api/v1/reports", xff="203.0.113.99", method="POST",
                         body=rep, ctype="application/json")
        assert st == 202, ("another client may report the same unit", st, doc)
        rep2 = '{"unit": "%s/N1", "note": "looks fake"}' % lib.GTIN
        st, doc, _ = get(c.nodes[0], "/api/v1/reports", xff="203.0.113.5", method="POST",
                         body=rep2, ctype="application/json")
        assert st == 202, ("the same client may report another unit", st, doc)
        print("ok: report limit per client and unit: first 202, second 429 (Retry-After "
              f"{hdr['Retry-After']} s); other client or other unit 202")
        passed += 1
        # two reports from one network are one report: R1 stays genuine
        time.sleep(lib.scaled(2.5))
        v = verdict(c.nodes[1], "R1")
        assert v["status"] == "genuine", ("two reports from one /24", v)
        st, doc, _ = get(c.nodes[0], "/api/v1/reports", xff="198.51.100.9", method="POST",
                         body=rep, ctype="application/json")
        assert st == 202
        lib.wait_for(lambda: "reported_fake" in verdict(c.nodes[2], "R1")["reasons"],
                     lib.scaled(30), "R1 reported_fake after a second network")
        print("ok: reports from one network stay genuine; a second network: reported_fake")
        passed += 1

        # 6. hostile strings: a traversal serial is a probe, stored without it; a
        # code that is no GTIN is counted in /metrics and stored nowhere
        bad0 = metric(c.nodes[0], "provena_scan_bad_codes_total")
        st, doc, _ = get(c.nodes[0], f"/01/{lib.GTIN}/21/..%2F..%2Fetc%2Fpasswd")
        assert st == 404 and doc["verdict"]["status"] == "not_genuine", (st, doc)
        st, doc, _ = get(c.nodes[0], "/01/09506000123450/21/x")  # wrong check digit
        assert st == 400 and doc["error"]["code"] == "bad_unit", (st, doc)
        assert metric(c.nodes[0], "provena_scan_bad_codes_total") == bad0 + 1
        lib.wait_for(lambda: analytics(c.nodes[2])["totals"]["probes"] >= 1, lib.scaled(30),
                     "the probe counted on node 3")
        c.wait_same_head()
        for nd in c.nodes:
            for root, _, files in os.walk(nd.data):
                for f in files:
                    with open(os.path.join(root, f), "rb") as fh:
                        assert b"etc/passwd" not in fh.read(), (nd.id, f)
        print("ok: ../../etc/passwd probe counted, in no node's data files; bad GTIN counted "
              "in /metrics only")
        passed += 1
    except Exception:
        c.dump_logs()
        raise
    finally:
        c.shutdown()
    print(f"{passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
