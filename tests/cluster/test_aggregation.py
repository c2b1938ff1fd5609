"""Aggregation on a real 3-node network: a pallet of cases, moved as one.

The brand mints 500 units and packs them with the CLI into 5 cases of 100, the
cases onto a pallet (SSCC, nested two levels); a carrier picks the pallet up and
delivers it to a seller in one transaction each. Then, on all three nodes:
- every unit's history ends packed into its case, picked up and delivered inside
  the pallet, and is the same on every node;
- every unit's EPCIS document is the same on every node, and one of them (with
  its AggregationEvent) passes GS1's schema, event-hash and Digital Link checks;
- /00/{pallet} answers its contents and custodian (its page in the reader's
  language); the SSCC label's URI is a valid Digital Link;
- /epcis/events?MATCH_epc=<SSCC URI> pages through the events of every unit the
  pallet (or a case) holds, in (gtin, serial) order, each unit's as its own
  document has them;
- a packed unit's sale is refused (packed), and after unpacking it is accepted;
- bad input is refused with its own code: a malformed SSCC (CLI exit 2, HTTP
  400 bad_sscc), an unknown one (404 unknown_parent), a pack by a party that
  does not hold the units (not_holder), a pallet packed into its own case
  (pack_cycle), an unpack of an empty parent (empty_parent).
"""

import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from test_cli import cli, refused  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "gs1_check.js")
G = lib.GTIN
CASES = 5
PER_CASE = 100


def sscc(body17):
    """body17 plus its GS1 check digit."""
    t = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body17)))
    return body17 + str((10 - t % 10) % 10)


PALLET = sscc("3" + "9506000" + "100000000")
CASE = [sscc("0" + "9506000" + "2000000%02d" % i) for i in range(CASES)]
UNKNOWN = sscc("1" + "9506000" + "999999999")


def gs1_check(mode, *args):
    if subprocess.run(["node", "--version"], capture_output=True).returncode != 0:
        lib.skip("node (npm tools) not installed")
    p = subprocess.run(["node", CHECK, mode, *args], capture_output=True, text=True,
                       timeout=lib.scaled(120))
    assert p.returncode == 0, f"gs1_check {mode}: {p.stdout}\n{p.stderr}"
    return p.stdout


def main():
    c = lib.Cluster(3, name="aggregation")
    ok = False
    try:
        run(c)
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
    print("test_aggregation: OK")


def run(c):
    t_start = time.monotonic()
    d = tempfile.mkdtemp(prefix="agg-", dir=c.dir)
    keys = {}
    for name in ("carrier", "seller", "buyer"):
        path = os.path.join(d, f"{name}.key")
        keys[name] = (path, cli("key", "new", path, check=0).out.strip())
    g = c.genesis
    cli("genesis", "add-participant", g, "--role", "carrier", "--id", "carrier-dhl", "--name",
        "DHL Freight", "--pub", keys["carrier"][1], "--regions", "DE", check=0)
    cli("genesis", "add-participant", g, "--role", "seller", "--id", "seller-berlin", "--name",
        "Bergsport Berlin", "--pub", keys["seller"][1], "--regions", "DE-BE", check=0)
    c.start_all()
    c.leader()
    N = dict(node=c.nodes[0].http)
    brand = c.brand_key
    car, sel = keys["carrier"][0], keys["seller"][0]

    units = cli("mint", "--gtin", G, "--lot", "P1", "--count", CASES * PER_CASE, key=brand,
                check=0, **N).out.split()
    assert len(units) == CASES * PER_CASE
    serials = [u.split("/")[1] for u in units]

    # ---- bad input first: each refused with its own code, nothing changes -------------
    r = cli("pack", "--sscc", PALLET[:-1] + str((int(PALLET[-1]) + 1) % 10), units[0],
            key=brand, **N)
    assert r.rc == 2 and "--sscc" in r.err and "check digit" in r.err, r
    r = cli("pack", "--sscc", "12345", units[0], key=brand, **N)
    assert r.rc == 2 and "--sscc" in r.err, r
    r = cli("pickup", "--sscc", PALLET, units[0], key=car, **N)
    assert r.rc == 2 and "not both" in r.err, r
    refused("not_holder", "pack", "--sscc", PALLET, units[0], key=car, **N)
    refused("unknown_parent", "unpack", "--sscc", UNKNOWN, key=brand, **N)
    refused("unknown_parent", "pickup", "--sscc", UNKNOWN, key=car, **N)

    # ---- pack: 5 cases of 100, the cases on a pallet ----------------------------------
    for i in range(CASES):
        f = os.path.join(d, f"case{i}.txt")
        with open(f, "w") as fh:
            fh.write("\n".join(units[i * PER_CASE:(i + 1) * PER_CASE]) + "\n")
        cli("pack", "--sscc", CASE[i], "--units", f, "--region", "DE-BY", key=brand, check=0,
            **N)
    # a unit packed twice, a case into itself: refused
    refused("packed", "pack", "--sscc", UNKNOWN, "--unit", units[0], key=brand, **N)
    cli("pack", "--sscc", PALLET, "--parents", ",".join(CASE), key=brand, check=0, **N)
    refused("pack_cycle", "pack", "--sscc", CASE[0], "--parents", PALLET, key=brand, **N)

    # ---- one pickup and one delivery of the pallet ------------------------------------
    t0 = time.monotonic()
    cli("pickup", "--sscc", PALLET, "--region", "DE-BY", key=car, check=0, **N)
    t_pick = time.monotonic() - t0
    cli("deliver", "--sscc", PALLET, "--to", "seller-berlin", key=car, check=0, **N)
    c.wait_same_head(timeout=lib.scaled(60))
    print(f"pickup of a pallet of {len(units)} units: {t_pick * 1000:.0f} ms "
          "(CLI submit to accepted receipt)")

    # ---- the pallet on every node ------------------------------------------------------
    for nd in c.nodes:
        st, p = nd.get(f"/00/{PALLET}")
        assert st == 200, (st, p)
        assert p["holder"] == "seller-berlin" and p["holder_name"] == "Bergsport Berlin", p
        assert p["units_total"] == len(units) and p["depth"] == 2, p
        assert sorted(p["parents"]) == sorted(CASE) and p["units"] == [], p
        st, cs = nd.get(f"/api/v1/parents/{CASE[1]}")
        assert st == 200 and cs["parent"] == PALLET and cs["holder"] == "seller-berlin", cs
        assert sorted(cs["units"]) == sorted(units[PER_CASE:2 * PER_CASE]), cs
    st, page = c.nodes[1].request("GET", f"/00/{PALLET}", accept="text/html")
    assert st == 200 and b"Bergsport Berlin" in page and CASE[3].encode() in page, page[:300]
    assert b"Custodian" in page and b'<html lang="en"' in page, page[:300]
    for lang, word in (("de", "Halter"), ("fr", "Détenteur"), ("ja", "保管者")):
        st, page = c.nodes[1].request("GET", f"/00/{PALLET}?lang={lang}", accept="text/html")
        assert st == 200 and word.encode() in page and f'<html lang="{lang}"'.encode() in page
        assert b"Bergsport Berlin" in page and b"Custodian" not in page, page[:400]
    st, page = c.nodes[1].request("GET", f"/00/{PALLET}", accept="text/html",
                                  headers={"Accept-Language": "es-ES,es;q=0.9"})
    assert st == 200 and "Custodio".encode() in page and b'<html lang="es"' in page, page[:300]
    st, e = c.nodes[0].get("/00/123456789012345678")
    assert st == 400 and e["error"]["code"] == "bad_sscc", (st, e)
    st, e = c.nodes[0].get(f"/00/{UNKNOWN}")
    assert st == 404 and e["error"]["code"] == "unknown_parent", (st, e)

    # ---- every unit's history and EPCIS, the same on all three nodes -------------------
    by_serial = {}
    for i, s in enumerate(serials):
        case = CASE[i // PER_CASE]
        hist = []
        for nd in c.nodes:
            st, h = nd.get(f"/api/v1/units/{G}/{s}/history")
            assert st == 200, (st, h)
            hist.append(h["history"])
        assert hist[0] == hist[1] == hist[2], s
        steps = [(e["type"], e.get("sscc")) for e in hist[0]]
        assert steps == [("mint", None), ("pack", case), ("pickup", PALLET),
                         ("deliver", PALLET)], (s, steps)
        assert hist[0][3]["to"] == "seller-berlin"
        docs = []
        for nd in c.nodes:
            st, doc = nd.get(f"/api/v1/units/{G}/{s}/epcis")
            assert st == 200, (st, doc)
            if i == 0 and not docs:
                with open(os.path.join(d, "unit0.json"), "w") as f:
                    json.dump(doc, f)
            doc.pop("creationDate", None)
            docs.append(doc)
        assert docs[0] == docs[1] == docs[2], s
        evs = docs[0]["epcisBody"]["eventList"]
        agg = evs[1]
        assert agg["type"] == "AggregationEvent" and agg["action"] == "ADD", agg
        assert agg["bizStep"] == "packing" and agg["parentID"] == f"https://id.gs1.org/00/{case}"
        assert agg["childEPCs"] == [f"https://id.gs1.org/01/{G}/21/{s}"], agg
        assert evs[2]["provena:inside"] == f"https://id.gs1.org/00/{PALLET}", evs[2]
        by_serial[s] = evs

    # ---- MATCH_epc of an SSCC: the events of every unit it holds ------------------------
    q = f"/epcis/events?MATCH_epc=https%3A%2F%2Fid.gs1.org%2F00%2F{PALLET}&perPage=1000"
    got, tok, pages = [], None, 0
    while True:
        st, doc = c.nodes[2].get(q + (f"&nextPageToken={tok}" if tok else ""))
        assert st == 200, (st, doc)
        pages += 1
        if pages == 1:
            with open(os.path.join(d, "pallet_query.json"), "w") as f:
                json.dump(doc, f)
        got += doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        tok = doc.get("provena:nextPageToken")
        if not tok:
            break
    want = [ev for s in sorted(serials) for ev in by_serial[s]]
    assert pages == 2 and len(got) == 4 * len(units), (pages, len(got))
    assert [e["eventID"] for e in got] == [e["eventID"] for e in want]
    st, doc = c.nodes[1].get(f"/epcis/events?MATCH_epc=https://id.example.com/00/{CASE[2]}"
                             "&EQ_bizStep=packing&perPage=1000")
    evs = doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert sorted(e["childEPCs"][0].rsplit("/", 1)[1] for e in evs) == \
        sorted(serials[2 * PER_CASE:3 * PER_CASE]), evs[:2]
    assert all(e["parentID"] == f"https://id.gs1.org/00/{CASE[2]}" for e in evs)
    st, doc = c.nodes[1].get(f"/epcis/events?MATCH_epc=https://id.gs1.org/00/{UNKNOWN}")
    assert st == 200 and doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []
    st, e = c.nodes[1].get("/epcis/events?MATCH_epc=https://id.gs1.org/00/123456789012345678")
    assert st == 400 and e["error"]["code"] == "bad_epc", (st, e)

    out = cli("history", units[1], check=0, node=c.nodes[2].http).out
    assert f"pack " in out and f"into {CASE[0]}" in out and f"inside {PALLET}" in out, out

    # ---- a packed unit is not sold; unpacked, it is ------------------------------------
    refused("packed", "sell", units[0], "--buyer", keys["buyer"][1], key=sel, **N)
    refused("packed", "unpack", "--sscc", CASE[0], key=sel, **N)  # inside the pallet
    cli("unpack", "--sscc", PALLET, key=sel, check=0, **N)
    refused("empty_parent", "unpack", "--sscc", PALLET, key=sel, **N)
    refused("packed", "sell", units[0], "--buyer", keys["buyer"][1], key=sel, **N)  # in a case
    cli("unpack", "--sscc", CASE[0], key=sel, check=0, **N)
    cli("sell", units[0], "--buyer", keys["buyer"][1], key=sel, check=0, **N)
    c.wait_same_head(timeout=lib.scaled(60))
    st, h = c.nodes[2].get(f"/api/v1/units/{G}/{serials[0]}/history")
    assert [e["type"] for e in h["history"]][-2:] == ["unpack", "sell"], h
    st, page = c.nodes[2].request("GET", f"/01/{G}/21/{serials[0]}", accept="text/html")
    assert st == 200 and f"/00/{CASE[0]}".encode() in page, page[:200]

    # ---- GS1's checks: the document with its AggregationEvent, the SSCC URIs -----------
    out = os.path.join(d, "pallet.svg")
    cli("label", "--sscc", PALLET, "--resolver", "https://id.example.com", "--out", out,
        check=0)
    with open(out) as f:
        assert f.read().startswith("<"), out
    r = cli("label", "--sscc", PALLET, "--out", os.path.join(d, "p.png"), check=0, **N)
    assert f"{c.nodes[0].http}/00/{PALLET}" in r.err, r  # no resolver named: the node's URL
    st, svg = c.nodes[0].request("GET", f"/api/v1/parents/{PALLET}/label.svg", accept="*/*")
    assert st == 200 and b"<svg" in svg, st
    gs1_check("epcis", os.path.join(d, "unit0.json"), os.path.join(d, "pallet_query.json"))
    gs1_check("dl", f"https://id.example.com/00/{PALLET}", f"https://id.gs1.org/00/{CASE[0]}")
    print(f"test_aggregation: {time.monotonic() - t_start:.1f} s")


if __name__ == "__main__":
    lib.require_built()
    main()
