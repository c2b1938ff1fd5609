"""Every public page in a real browser, as a person on a phone or a desktop meets it.

A 3-node network; units minted, shipped, sold, claimed and flagged through the
`provena` CLI so that every verdict a page can show exists: genuine (unsold),
sold (claim pending), owned, recalled, stolen, suspicious (reported fake) and
unknown (a serial never made), plus the bad-link error page, the report's
thank-you page, the page in German and Japanese, and the brand dashboard.
Each page is opened by Chromium (playwright-core, tests/browser/harness.js) at
390×844 and 1280×800; the test requires axe-core to find 0 violations, every
verdict reason line to be rendered with a contrast of at least 4.5:1 against
what is behind it, no sideways scrolling, the page's language in <html lang>
and Content-Language, and the page to be read through another node than the
one written to with ?min_height (so it shows the writer's own block).
Screenshots go to BUILD/browser-shots/ (kept for a person to look at).
Exit 77 only when Chromium cannot start.
"""

import json
import os
import sys
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "browser"))
import lib  # noqa: E402
import browser  # noqa: E402

SHOTS = os.path.join(lib.BUILD, "browser-shots")
FAILS = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        FAILS.append(what)


def cli(*args, key=None, node=None):
    full = list(args)
    if key:
        full += ["--key", key]
    if node:
        full += ["--node", node]
    rc, out, err = lib.run_cli(*full)
    assert rc == 0, f"provena {' '.join(map(str, args))}: exit {rc}\n{out}\n{err}"
    return out


def height_of(out):
    """The block height of the last 'accepted at height N' line."""
    hs = [int(ln.split("accepted at height ")[1].split()[0]) for ln in out.splitlines()
          if "accepted at height " in ln]
    assert hs, out
    return hs[-1]


def main():
    lib.require_built()
    miss = browser.missing_tools()
    if miss:
        print("FAIL: browser test tools missing (run scripts/install-deps.sh): " + ", ".join(miss))
        sys.exit(1)
    c = lib.Cluster(3, name="browser", node_args=["--trusted-proxy", "127.0.0.1",
                                                    "--region-header", "X-Test-Region"])
    ok = False
    try:
        run(c)
        ok = not FAILS
    finally:
        if not ok:
            c.dump_logs()
        c.shutdown(keep=not ok)
    if FAILS:
        print(f"test_browser_pages: {len(FAILS)} failures")
        sys.exit(1)
    print("test_browser_pages: OK")


def run(c):
    keys = {}
    for name in ("carrier", "seller", "alice"):
        path = os.path.join(c.dir, f"{name}.key")
        keys[name] = (path, cli("key", "new", path).strip())
    g = c.genesis
    cli("genesis", "add-participant", g, "--role", "carrier", "--id", "carrier-dhl", "--name",
        "DHL Freight", "--pub", keys["carrier"][1], "--regions", "DE,AT")
    cli("genesis", "add-participant", g, "--role", "seller", "--id", "seller-berlin", "--name",
        "Bergsport Berlin", "--pub", keys["seller"][1], "--regions", "DE")
    c.start_all()
    c.leader()
    n1, n3 = c.nodes[0], c.nodes[2]
    W = n1.http  # every write goes through node 1; every page is read from node 3
    csv_path = os.path.join(c.dir, "units.csv")
    cli("mint", "--gtin", lib.GTIN, "--lot", "L7", "--expiry", "301231", "--model",
        "Trail Pack 30", "--markets", "DE,AT", "--count", 6, "--csv", csv_path,
        key=c.brand_key, node=W)
    import csv
    rows = list(csv.DictReader(open(csv_path)))
    units = [f"{r['gtin']}/{r['serial']}" for r in rows]
    genuine, sold, owned, recalled, stolen, suspicious = units
    cli("pickup", *units[1:], "--region", "DE", key=keys["carrier"][0], node=W)
    cli("deliver", "--to", "Bergsport Berlin", *units[1:], key=keys["carrier"][0], node=W)
    cli("sell", sold, "--claim-code", key=keys["seller"][0], node=W)
    out = cli("sell", owned, "--claim-code", key=keys["seller"][0], node=W)
    code = [ln.split(": ", 1)[1] for ln in out.splitlines() if ln.startswith("claim code: ")][0]
    cli("claim", owned, "--code", code, key=keys["alice"][0], node=W)
    cli("flag", "--reason", "recalled", recalled, key=c.brand_key, node=W)
    last = height_of(cli("flag", "--reason", "stolen", stolen, key=c.brand_key, node=W))

    def page_url(unit, query=""):
        row = rows[units.index(unit)]
        u = urllib.parse.urlsplit(row["url"])
        q = u.query + ("&" + query if query else "")
        return f"http://127.0.0.1:{n3.http_port}{u.path}?{q}"

    # reports from two networks (as the fronting proxy names the clients) through node 1
    # make the unit suspicious once their scans batch replicates
    body = urllib.parse.urlencode({"unit": suspicious, "note": "stitching looks off"}).encode()
    for client in ("203.0.113.5", "198.51.100.9"):
        req = urllib.request.Request(f"http://127.0.0.1:{n1.http_port}/api/v1/reports",
                                     data=body,
                                     headers={"Content-Type": "application/x-www-form-urlencoded",
                                              "X-Forwarded-For": client})
        check(urllib.request.urlopen(req, timeout=lib.scaled(10)).status == 202,
              f"report from {client} accepted")
    gt, se = suspicious.split("/")

    def is_suspicious():
        st, doc = n3.get(f"/api/v1/units/{gt}/{se}")
        return st == 200 and doc["verdict"]["status"] == "suspicious"
    lib.wait_for(is_suspicious, lib.scaled(60), "the report's scans batch on node 3", interval=0.3)

    rc, session, err = n3.dashboard_login(c.brand_key)  # the brand signs in to node 3
    assert rc == 0 and session, (rc, err)
    auth = {"Authorization": "Bearer " + session}

    # scans where they happened: two in DE and one in AT (both in the lot's markets,
    # so no verdict changes), through node 3
    for unit, region in ((genuine, "DE"), (owned, "DE"), (sold, "AT")):
        gu, su = unit.split("/")
        req = urllib.request.Request(f"http://127.0.0.1:{n3.http_port}/01/{gu}/21/{su}",
                                     headers={"X-Test-Region": region,
                                              "Accept": "application/json"})
        check(urllib.request.urlopen(req, timeout=lib.scaled(10)).status == 200,
              f"scan of {unit} in {region}")

    def regions():
        st, doc = n3.get("/api/v1/analytics", session)
        return st == 200 and doc["scans_by_region"].get("DE") == 2 and \
            doc["scans_by_region"].get("AT") == 1
    lib.wait_for(regions, lib.scaled(60), "scans by region on node 3", interval=0.3)

    reasons = "header [data-reason]"
    mh = f"min_height={last}"
    pages = [
        {"name": "genuine", "url": page_url(genuine, mh), "text": ["Genuine", f"as of block"]},
        {"name": "sold", "url": page_url(sold, mh), "text": ["Genuine", "sold, not yet claimed"]},
        {"name": "owned", "url": page_url(owned, mh),
         "text": ["Genuine", "sold and owned by a customer", "Ownership claimed"]},
        {"name": "recalled", "url": page_url(recalled, mh), "readable": reasons,
         "text": ["Recalled", "The brand has recalled this unit"]},
        {"name": "stolen", "url": page_url(stolen, mh), "readable": reasons,
         "text": ["Reported stolen", "This unit was reported stolen"]},
        {"name": "suspicious", "url": page_url(suspicious), "readable": reasons,
         "text": ["Suspicious", "Customers reported it as a suspected fake"]},
        {"name": "unknown", "url": f"http://127.0.0.1:{n3.http_port}/01/{lib.GTIN}/21/NEVERMADE1",
         "readable": reasons, "text": ["Not genuine", "never made by the brand"]},
        {"name": "bad-link", "url": f"http://127.0.0.1:{n3.http_port}/01/12345/21/X",
         "text": ["Not a valid product code"]},
        {"name": "recalled-de", "url": page_url(recalled, "lang=de"), "readable": reasons,
         "text": ["Zurückgerufen", "Die Marke hat dieses Exemplar zurückgerufen"], "lang": "de"},
        {"name": "stolen-ja", "url": page_url(stolen), "locale": "ja-JP", "readable": reasons,
         "text": ["盗難届あり"], "lang": "ja"},
        {"name": "dashboard", "url": f"http://127.0.0.1:{n3.http_port}/dashboard",
         "headers": auth, "text": ["Scans by region", "Scans per day", "DE"]},
        {"name": "dashboard-lot", "headers": auth,
         "url": f"http://127.0.0.1:{n3.http_port}/dashboard?lot={lib.GTIN}/L7",
         "text": ["Lot " + lib.GTIN + "/L7", "Reported stolen", "Recalled"]},
        {"name": "dashboard-unit", "headers": auth,
         "url": f"http://127.0.0.1:{n3.http_port}/dashboard?unit={suspicious}",
         "text": ["Customers reported it as a suspected fake", "Suspicious"]},
        {"name": "dashboard-login", "url": f"http://127.0.0.1:{n3.http_port}/dashboard/login",
         "text": []},
    ]
    res = browser.run_js("pages.js", {"out": SHOTS, "viewports": ["phone", "desktop"],
                                      "pages": pages}, lib.skip)
    byname = {p["name"]: p for p in pages}
    for r in res["pages"]:
        tag = f"{r['name']} at {r['viewport']}"
        spec = byname[r["name"]]
        want_status = {"unknown": 404, "bad-link": 400}.get(r["name"], 200)
        check(r["status"] == want_status, f"{tag}: HTTP {r['status']} (want {want_status})")
        check(not r["violations"], f"{tag}: axe-core violations {json.dumps(r['violations'])}")
        check(not r["missing_text"], f"{tag}: text shown {r['missing_text']} missing")
        check(not r["overflow"], f"{tag}: no sideways scrolling")
        if "readable" in spec:
            check(len(r["readable"]) >= 1, f"{tag}: has reason lines")
            for x in r["readable"]:
                check(x["visible"] and x["ratio"] >= 4.5,
                      f"{tag}: reason '{x['text']}' visible, contrast {x['ratio']}:1 "
                      f"({x['color']} on {x['background']})")
        want_lang = spec.get("lang", "en")
        if not r["name"].startswith("dashboard"):
            check(r["lang"] == want_lang, f"{tag}: <html lang> {r['lang']} (want {want_lang})")
        if not r["name"].startswith("dashboard") and r["name"] != "bad-link":
            check(r["headers"]["content-language"] == want_lang,
                  f"{tag}: Content-Language {r['headers']['content-language']}")
            check("Accept-Language" in (r["headers"]["vary"] or ""), f"{tag}: Vary names Accept-Language")
        check(os.path.getsize(r["screenshot"]) > 1000, f"{tag}: screenshot {r['screenshot']}")


if __name__ == "__main__":
    main()
