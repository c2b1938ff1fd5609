#!/usr/bin/env python3
"""The customer's page in a real browser: Debian's chromium driven by
playwright-core (tests/cluster/passkey_browser.js), passkeys from the DevTools
virtual authenticator. A seller sells with a code (CLI); customer A claims on
node 1's page, activates the warranty, offers a transfer; customer B claims it
on node 2's page, opening the link its QR holds (code prefilled from #code=);
all three nodes then show B's passkey as owner. B's browser asks for German
(Accept-Language de-DE): the page and the script's status lines are German. B
files a warranty claim with a note and reports the unit stolen from the page;
every node then shows the claim and the STOLEN verdict. After each write the page
reloads at the receipt's height and shows the new state without polling;
axe-core finds 0 violations on the customer's pages at 390x844 and 1280x800. Pages are
served on `localhost` (an IP address is not a valid rp id). Phone-size
screenshots are kept in build/screenshots/passkey/. Exit 77 without playwright-core or
chromium."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from test_passkey import RP, cli, owner_everywhere  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if shutil.which("node") is None:
        print("test_passkey_browser: SKIP (no node)")
        sys.exit(77)

    def extra(cl):
        return {"webauthn": {"rp_id": RP, "origins": [nd.http.replace("127.0.0.1", "localhost")
                                                      for nd in cl.nodes]}}
    c = lib.Cluster(3, name="pkbrowser", genesis_extra=extra)
    ok = False
    rc = 0
    try:
        rc = run(c)
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
    if rc == 77:
        sys.exit(77)
    print("test_passkey_browser: OK")


def run(c):
    d = tempfile.mkdtemp(prefix="provena-pkb-", dir=c.dir)
    keys = {}
    for name in ("carrier", "seller"):
        path = os.path.join(d, f"{name}.key")
        keys[name] = (path, cli("key", "new", path).stdout.strip())
    cli("genesis", "add-participant", c.genesis, "--role", "carrier", "--id", "carrier-a",
        "--name", "Carrier", "--pub", keys["carrier"][1])
    cli("genesis", "add-participant", c.genesis, "--role", "seller", "--id", "seller-a",
        "--name", "Shop", "--pub", keys["seller"][1])
    c.start_all()
    c.leader()
    N = dict(node=c.nodes[0].http)
    (u,) = cli("mint", "--gtin", lib.GTIN, "--lot", "B1", "--count", 1, key=c.brand_key,
               **N).stdout.split()
    cli("pickup", u, key=keys["carrier"][0], **N)
    cli("deliver", "--to", "seller-a", u, key=keys["carrier"][0], **N)
    out = cli("sell", u, "--claim-code", key=keys["seller"][0], **N).stdout
    code = [ln.split(": ", 1)[1] for ln in out.splitlines() if ln.startswith("claim code: ")][0]
    c.wait_same_head()
    gtin, serial = u.split("/")
    urls = [nd.http.replace("127.0.0.1", "localhost") + f"/01/{gtin}/21/{serial}"
            for nd in c.nodes[:2]]
    shots = os.path.join(lib.BUILD, "screenshots", "passkey")  # kept after the run
    os.makedirs(shots, exist_ok=True)
    p = subprocess.run(["node", os.path.join(HERE, "passkey_browser.js"), *urls, code, shots],
                       capture_output=True, text=True, timeout=lib.scaled(300))
    if p.returncode == 77:
        print(p.stdout.strip())
        return 77
    assert p.returncode == 0, f"browser run failed:\n{p.stdout}\n{p.stderr}"
    ids = json.loads(p.stdout.strip().splitlines()[-1])
    assert ids["a"] != ids["b"], ids
    assert owner_everywhere(c, u) == ids["b"]
    # B's warranty claim and stolen report, from the page, on every node
    for nd in c.nodes:
        def flagged():
            st, doc = nd.get(f"/api/v1/units/{u}")
            unit = (doc or {}).get("unit") or {}
            return st == 200 and "stolen" in unit.get("flags", []) and \
                unit.get("warranty", {}).get("open_claims", 0) >= 1 and doc
        doc = lib.wait_for(flagged, lib.scaled(30), f"stolen and a warranty claim on {nd.id}")
        assert doc["verdict"]["status"] == "stolen", doc["verdict"]
    assert len(ids["axe"]) == 12 and not any(ids["axe"].values()), ids["axe"]
    for f in ("a-sold.png", "a-owner.png", "a-offer.png", "a-offer-qr.png", "b-claim.png",
              "b-owner.png", "b-stolen.png", "a-after.png"):
        assert os.path.getsize(os.path.join(shots, f)) > 1000, f
    return 0


if __name__ == "__main__":
    main()
