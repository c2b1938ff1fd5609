"""Scan intelligence against three real provena-node processes.

A label scanned in Germany, Japan and Brazil minutes apart, by clients of three
networks (as the trusted fronting proxy names them), turns SUSPICIOUS
(impossible_travel) on every node, because each gateway's scans replicate as
node-signed `scans` transactions; probes of unknown serials are counted in the
analytics; the dashboard refuses a request without a credential and renders with
a brand key's session (and with the operator's break-glass token from
--admin-token-file, every near miss of which is refused); after a node restarts,
its view of the scans is intact.
"""
import http.client
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

TOKEN = "test-admin-token-0123456789"


def verdict(nd, serial):
    st, doc = nd.get(f"/api/v1/units/{lib.GTIN}/{serial}")
    assert st == 200, (st, doc)
    return doc["verdict"]


def bearer(nd, path, token):
    conn = http.client.HTTPConnection("127.0.0.1", nd.http_port, timeout=lib.scaled(20))
    try:
        conn.request("GET", path, headers={"Authorization": "Bearer " + token,
                                           "Accept": "application/json"})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def main():
    lib.require_built()
    c = lib.Cluster(3, name="scans", node_args=("--trusted-proxy", "127.0.0.1",
                                                "--region-header", "X-Region"))
    token_file = os.path.join(c.dir, "admin.token")
    with open(token_file, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(token_file, 0o600)
    c.node_args += ["--admin-token-file", token_file]
    try:
        c.start_all()
        c.leader()
        txid, hexcbor = c.mint(["T1", "T2"], lot="L1")
        st, doc = c.nodes[0].submit_cbor(hexcbor)
        assert st == 200 and doc["status"] == "accepted", (st, doc)
        c.wait_tx_everywhere([txid])
        for nd in c.nodes:
            assert verdict(nd, "T1")["status"] == "genuine"

        # copies of the label scanned in Germany at node 1, in Japan at node 2 and in
        # Brazil at node 3, by clients of three networks as the fronting proxy
        # (--trusted-proxy) names them: two far jumps, two witnesses
        for nd, ip, region in ((c.nodes[0], "203.0.113.5", "DE"),
                               (c.nodes[1], "198.51.100.9", "JP"),
                               (c.nodes[2], "192.0.2.77", "BR")):
            st, doc = nd.request("GET", f"/01/{lib.GTIN}/21/T1",
                                 headers={"X-Forwarded-For": ip, "X-Region": region})
            assert st == 200, (st, doc)

        def suspicious_everywhere():
            return all(verdict(nd, "T1")["status"] == "suspicious" and
                       "impossible_travel" in verdict(nd, "T1")["reasons"] for nd in c.nodes)
        lib.wait_for(suspicious_everywhere, lib.scaled(20), "T1 suspicious on every node")
        print("ok: DE, JP, BR within minutes from three networks → suspicious "
              "(impossible_travel) on all 3 nodes")
        assert verdict(c.nodes[2], "T2")["status"] == "genuine", "an unscanned unit stays genuine"

        rc, session, err = c.nodes[0].dashboard_login(c.brand_key)
        assert rc == 0 and len(session) == 64, (rc, session, err)

        # probes of unknown serials of a real GTIN are counted
        for s in ("NOPE1", "NOPE2", "NOPE3"):
            st, doc = c.nodes[2].get(f"/01/{lib.GTIN}/21/{s}")
            assert st == 404 and doc["verdict"]["status"] == "not_genuine", (st, doc)

        def probes_counted():
            st, doc = c.nodes[0].get("/api/v1/analytics", session)
            return st == 200 and doc["totals"]["probes"] >= 3
        lib.wait_for(probes_counted, lib.scaled(20), "3 probes in analytics on node 1")
        print("ok: unknown-serial probes at node 3 counted in node 1's analytics")

        # scans count in the region where each happened (DE at node 1, JP at node 2),
        # not all in the unit's latest region; every node counts alike
        def by_region(nd):  # sessions are per node: the break-glass token on each
            st, body = bearer(nd, "/api/v1/analytics", TOKEN)
            return json.loads(body)["scans_by_region"] if st == 200 else None
        lib.wait_for(lambda: all(by_region(nd) == {"DE": 1, "JP": 1, "BR": 1}
                                    for nd in c.nodes),
                     lib.scaled(20), "scans by region DE 1, JP 1, BR 1 on every node")
        st, doc = c.nodes[0].get("/api/v1/analytics", session)
        assert sum(d["scans"] for d in doc["scans_per_day"]) == 3, doc["scans_per_day"]
        print("ok: scans by region where they happened (DE 1, JP 1, BR 1) and per day, "
              "on all nodes")

        # the dashboard and analytics need a credential, never taken from the URL
        st, doc = c.nodes[0].get("/api/v1/analytics")
        assert st == 401 and doc["error"]["code"] == "unauthorized", (st, doc)
        st, doc = c.nodes[0].get(f"/api/v1/analytics?token={TOKEN}")
        assert st == 400 and doc["error"]["code"] == "bad_request", (st, doc)
        # every near miss of the break-glass token is refused as a Bearer header:
        # a prefix, the token with more after it, the same length with one
        # character wrong, and empty
        wrong = {"prefix": TOKEN[:-1], "longer": TOKEN + "0", "same length": TOKEN[:-1] + "X",
                 "empty": ""}
        for what, tok in wrong.items():
            st, _ = bearer(c.nodes[0], "/api/v1/analytics", tok)
            assert st == 401, ("Bearer", what, st)
        st, _ = bearer(c.nodes[0], "/api/v1/analytics", TOKEN)
        assert st == 200, ("Bearer with the token", st)
        print("ok: break-glass token: prefix, longer, same-length wrong and empty all 401; "
              "exact 200; ?token= in the URL 400")
        st, doc = c.nodes[0].request("GET", "/dashboard", accept="text/html")
        assert st == 401, (st, doc)
        st, page = c.nodes[0].request("GET", "/dashboard", accept="text/html",
                                      headers={"Authorization": "Bearer " + session})
        assert st == 200 and b"<svg" in page and b"T1" in page, (st, page[:200])
        print("ok: dashboard refuses no credential (401), renders with a brand session (SVG "
              "charts, T1 listed)")

        # drill-downs: a lot lists its units, a unit shows its reasons in words
        n1 = c.nodes[0]
        auth = {"Authorization": "Bearer " + session}
        st, dpage = n1.request("GET", f"/dashboard?lot={lib.GTIN}/L1", accept="text/html",
                              headers=auth)
        assert st == 200 and b"T1" in dpage and b"T2" in dpage and b"Suspicious" in dpage, st
        assert f'href="/dashboard?unit={lib.GTIN}/T1"'.encode() in dpage
        st, dpage = n1.request("GET", f"/dashboard?unit={lib.GTIN}/T1", accept="text/html",
                              headers=auth)
        assert st == 200 and b"Scanned in places too far apart" in dpage and b"DE" in dpage, st
        # bounds and errors: a lot name at GS1_LOT_MAX (20) is read (unknown: 404), one
        # past is 400; malformed values are 400; unknown units 404
        for q, want, code in ((f"lot={lib.GTIN}/" + "A" * 20, 404, "unknown_lot"),
                              (f"lot={lib.GTIN}/" + "A" * 21, 400, "bad_query"),
                              (f"unit={lib.GTIN}/" + "S" * 20, 404, "unknown_unit"),
                              (f"unit={lib.GTIN}/" + "S" * 21, 400, "bad_query"),
                              ("lot=12345/L1", 400, "bad_query"), (f"lot={lib.GTIN}", 400, "bad_query"),
                              (f"lot={lib.GTIN}/", 400, "bad_query"), ("unit=%zz", 400, "bad_query"),
                              (f"unit={lib.GTIN}/NOPE1", 404, "unknown_unit")):
            st, doc = n1.get(f"/dashboard?{q}", session)
            assert st == want and doc["error"]["code"] == code, (q, st, doc)
        st, doc = n1.get(f"/dashboard?lot={lib.GTIN}/L1")
        assert st == 401, (st, doc)
        print("ok: dashboard drill-downs (lot, unit) and their 400/404 errors")

        chrome = shutil.which("chromium") or shutil.which("chromium-browser")
        assert chrome, "chromium is installed (scripts/install-deps.sh)"
        shot = os.path.join(c.dir, "dashboard.png")
        # the browser gets the page as fetched with the session (a headless
        # browser takes no Authorization header; a person uses /dashboard/login)
        page_file = os.path.join(c.dir, "dashboard.html")
        with open(page_file, "wb") as f:
            f.write(page)
        url = "file://" + page_file
        args = [chrome, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--disable-background-networking", "--no-first-run",
                "--window-size=1280,1400", "--user-data-dir=" + os.path.join(c.dir, "chrome")]
        dom = subprocess.run(args + ["--dump-dom", url], capture_output=True, text=True,
                             timeout=lib.scaled(90)).stdout
        subprocess.run(args + [f"--screenshot={shot}", url], capture_output=True,
                       timeout=lib.scaled(90))
        assert "impossible_travel" in dom and "<svg" in dom, dom[:300]
        assert os.path.exists(shot) and os.path.getsize(shot) > 1000, "dashboard screenshot"
        keep_dir = os.environ.get("PROVENA_ARTIFACTS", os.path.join(lib.BUILD, "artifacts"))
        os.makedirs(keep_dir, exist_ok=True)
        shutil.copy(shot, os.path.join(keep_dir, "dashboard.png"))
        print(f"ok: Chromium renders the dashboard with the alert (screenshot {shot})")

        # counts survive a restart
        c.nodes[1].stop()
        c.nodes[1].start()
        lib.wait_for(lambda: c.nodes[1].serving(), lib.scaled(20), "node 2 serving again")
        v = verdict(c.nodes[1], "T1")
        assert v["status"] == "suspicious" and "impossible_travel" in v["reasons"], v
        print("ok: after a restart node 2 still holds the scans (T1 suspicious)")
    except Exception:
        c.dump_logs()
        raise
    finally:
        c.shutdown()
    print("6 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
