"""EPCIS 2.0 out of a real 3-node network, checked with GS1's own tools.

Builds a network with a carrier (regions DE, AT) and a seller (DE), mints a lot with
the CLI, runs units through pickup, delivery, sale, claim, transfer, warranty and
flags, then:
- each unit's EPCISDocument (/api/v1/units/{gtin}/{serial}/epcis) maps every ledger
  event (bizStep, disposition, action, readPoint/bizLocation from the regions, the
  ledger proof that /api/v1/tx and /api/v1/blocks confirm) and is the same on all
  three nodes;
- /epcis/events answers MATCH_epc (units and a lot), EQ_bizStep, GE/LT_eventTime,
  perPage and nextPageToken (pages join up to the unfiltered list, no event twice),
  and refuses each bad parameter with its own code;
- `provena epcis export` streams a lot's document to a file, read from the node's
  streamed /api/v1/lots/{gtin}/{lot}/epcis (one event per line, filters and errors
  as the query's);
- every document is validated with ajv against GS1's EPCIS 2.0 JSON schema, every
  eventID recomputed with epcis2.js's CBV event-hash generator, every EPC checked
  with digital-link.js (tests/cluster/gs1_check.js).
"""

import csv
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from test_cli import cli  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "gs1_check.js")
G = lib.GTIN


def gs1_check(mode, *args):
    p = subprocess.run(["node", CHECK, mode, *args], capture_output=True, text=True,
                       timeout=lib.scaled(120))
    assert p.returncode == 0, f"gs1_check {mode}: {p.stdout}\n{p.stderr}"
    return p.stdout


def get(nd, path):
    st, doc = nd.get(path)
    return st, doc


def strip_volatile(doc):
    d = dict(doc)
    d.pop("creationDate", None)
    return d


def q(params):
    return "/epcis/events?" + urllib.parse.urlencode(params)


def main():
    c = lib.Cluster(3, name="epcis")
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
    print("test_epcis: OK")


def run(c):
    gs1_check("selftest")
    d = tempfile.mkdtemp(prefix="epcis-", dir=c.dir)
    keys = {}
    for name in ("carrier", "seller", "alice", "bob"):
        path = os.path.join(d, f"{name}.key")
        keys[name] = (path, cli("key", "new", path, check=0).out.strip())
    g = c.genesis
    cli("genesis", "add-participant", g, "--role", "carrier", "--id", "carrier-dhl", "--name",
        "DHL Freight", "--pub", keys["carrier"][1], "--regions", "AT,DE", check=0)
    cli("genesis", "add-participant", g, "--role", "seller", "--id", "seller-berlin", "--name",
        "Bergsport Berlin", "--pub", keys["seller"][1], "--regions", "DE-BE", check=0)
    c.start_all()
    c.leader()
    N = dict(node=c.nodes[0].http)
    brand = c.brand_key
    car, sel = keys["carrier"][0], keys["seller"][0]

    csv_path = os.path.join(d, "units.csv")
    units = cli("mint", "--gtin", G, "--lot", "0012", "--expiry", "281200", "--count", 4,
                "--csv", csv_path, key=brand, check=0, **N).out.split()
    with open(csv_path) as f:
        label_urls = [row["url"] for row in csv.DictReader(f)]
    assert len(label_urls) == 4
    gs1_check("dl", *label_urls)  # the labels' Digital Link URIs
    u0, u1, u2, u3 = units
    cli("pickup", u0, u1, u2, "--region", "DE-BY", key=car, check=0, **N)
    cli("deliver", "--to", "seller-berlin", u0, u1, u2, key=car, check=0, **N)
    r = cli("sell", u0, "--claim-code", key=sel, check=0, **N)
    code = [ln.split(": ", 1)[1] for ln in r.out.splitlines() if ln.startswith("claim code: ")][0]
    cli("claim", u0, "--code", code, key=keys["alice"][0], check=0, **N)
    cli("transfer", u0, "--to", keys["bob"][1], key=keys["alice"][0], check=0, **N)
    cli("warranty", "activate", u0, key=keys["bob"][0], check=0, **N)
    cli("flag", "--reason", "stolen", u0, key=keys["bob"][0], check=0, **N)
    cli("flag", "--reason", "recalled", u1, "--note", "batch 7 valve", key=brand, check=0, **N)
    cli("unflag", "--reason", "recalled", u1, key=brand, check=0, **N)
    cli("flag", "--reason", "destroyed", u2, key=brand, check=0, **N)
    cli("flag", "--reason", "counterfeit", u3, key=brand, check=0, **N)
    c.wait_same_head()

    # ---- a unit's document: the mapping, the proof, the same on every node --------------
    s0 = u0.split("/")[1]
    docs = []
    for i, nd in enumerate(c.nodes):
        st, doc = get(nd, f"/api/v1/units/{G}/{s0}/epcis")
        assert st == 200, (st, doc)
        docs.append(doc)
        with open(os.path.join(d, f"u0-node{i + 1}.json"), "w") as f:
            json.dump(doc, f)
    assert strip_volatile(docs[0]) == strip_volatile(docs[1]) == strip_volatile(docs[2])
    doc = docs[0]
    assert doc["type"] == "EPCISDocument" and doc["schemaVersion"] == "2.0"
    evs = doc["epcisBody"]["eventList"]
    got = [(e["provena:step"], e["action"], e.get("bizStep"), e.get("disposition")) for e in evs]
    ns = "urn:provena:epcis:"
    assert got == [
        ("mint", "ADD", "commissioning", "active"),
        ("pickup", "OBSERVE", "shipping", "in_transit"),
        ("deliver", "OBSERVE", "receiving", "in_progress"),
        ("sell", "OBSERVE", "retail_selling", "retail_sold"),
        ("claim", "OBSERVE", ns + "BizStep-claim", None),
        ("transfer", "OBSERVE", ns + "BizStep-transfer", None),
        ("warranty.activate", "OBSERVE", ns + "BizStep-warranty_activate", None),
        ("flag", "OBSERVE", ns + "BizStep-flag", "stolen"),
    ], got
    epc = f"https://id.gs1.org/01/{G}/21/{s0}"
    assert all(e["epcList"] == [epc] for e in evs)
    assert evs[0]["ilmd"] == {"cbvmda:lotNumber": "0012", "cbvmda:itemExpirationDate": "2028-12-31"}
    assert evs[1]["readPoint"] == {"id": "urn:provena:region:DE-BY"}  # the tx's region
    assert evs[1]["bizLocation"] == {"id": "urn:provena:participant:carrier-dhl"}
    assert evs[2]["bizLocation"] == {"id": "urn:provena:participant:seller-berlin"}
    assert evs[2]["readPoint"] == {"id": "urn:provena:region:DE-BE"}  # the receiver's region
    assert "readPoint" not in evs[4] and "bizLocation" not in evs[4]  # a customer key
    assert len({e["eventID"] for e in evs}) == len(evs)
    for e in evs:  # the proof: the tx is in that block at that height, accepted
        pf = e["provena:ledger"]
        st, tx = get(c.nodes[1], f"/api/v1/tx/{pf['provena:tx']}")
        rc = tx["receipt"]
        assert st == 200 and rc["status"] == "accepted", (st, tx)
        assert (rc["height"], rc["index"]) == (pf["provena:height"], pf["provena:index"]), (rc, pf)
        st, blk = get(c.nodes[2], f"/api/v1/blocks/{pf['provena:height']}")
        assert st == 200 and blk["id"] == pf["provena:block"], (st, blk)
        assert blk["txs"][pf["provena:index"]] == pf["provena:tx"], (blk, pf)
    # the other units: recall with its comment and the unflag, destroyed, counterfeit
    byu = {}
    for u in (u1, u2, u3):
        st, du = get(c.nodes[0], f"/api/v1/units/{G}/{u.split('/')[1]}/epcis")
        assert st == 200
        byu[u] = du["epcisBody"]["eventList"]
        with open(os.path.join(d, f"unit-{u.split('/')[1]}.json"), "w") as f:
            json.dump(du, f)
    fl = byu[u1][-2]
    assert fl["disposition"] == "recalled" and fl["rdfs:comment"] == "batch 7 valve", fl
    assert byu[u1][-1]["provena:step"] == "unflag" and byu[u1][-1]["provena:reason"] == "recalled"
    assert (byu[u2][-1]["bizStep"], byu[u2][-1]["disposition"]) == ("destroying", "destroyed")
    assert byu[u3][-1]["disposition"] == "non_sellable_other"
    assert byu[u3][-1]["provena:reason"] == "counterfeit"
    st, e404 = get(c.nodes[0], f"/api/v1/units/{G}/NOSUCHSERIAL1/epcis")
    assert st == 404 and e404["error"]["code"] == "unknown_unit", (st, e404)

    # ---- the query interface ------------------------------------------------------------
    nd = c.nodes[1]
    lot_uri = f"https://example.com/01/{G}/10/0012"
    st, all_doc = get(nd, q({"MATCH_epc": lot_uri, "perPage": 1000}))
    assert st == 200 and all_doc["type"] == "EPCISQueryDocument", (st, all_doc)
    assert "provena:nextPageToken" not in all_doc
    all_evs = all_doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    total = sum(len(x) for x in byu.values()) + len(evs)
    assert len(all_evs) == total, (len(all_evs), total)
    with open(os.path.join(d, "lot-all.json"), "w") as f:
        json.dump(all_doc, f)
    # pages of 3 join up to the same list
    seen, token, pages = [], None, 0
    while True:
        params = {"MATCH_epc": lot_uri, "perPage": 3}
        if token:
            params["nextPageToken"] = token
        st, hd, body = raw(nd, q(params))
        assert st == 200, (st, body)
        pg = json.loads(body)
        page = pg["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        assert len(page) <= 3
        seen += [e["eventID"] for e in page]
        pages += 1
        token = pg.get("provena:nextPageToken")
        if not token:
            assert "link" not in hd
            break
        assert 'rel="next"' in hd.get("link", "") and token in hd["link"], hd
        assert pages < 50
    assert seen == [e["eventID"] for e in all_evs], "paging changed the events"
    # EQ_bizStep, by word and by URI, and a unit list
    st, sh = get(nd, q({"MATCH_epc": lot_uri, "EQ_bizStep": "shipping,https://ref.gs1.org/cbv/BizStep-receiving"}))
    steps = [e["bizStep"] for e in sh["epcisBody"]["queryResults"]["resultsBody"]["eventList"]]
    assert sorted(steps) == ["receiving"] * 3 + ["shipping"] * 3, steps
    st, one = get(nd, q({"MATCH_epc": f"{c.nodes[0].http}/01/{G}/21/{s0},{epc}"}))
    assert st == 200
    assert len(one["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 2 * len(evs)
    # GE/LT_eventTime: the window from the deliver event (inclusive) to the sale (exclusive)
    t_del, t_sell = evs[2]["eventTime"], evs[3]["eventTime"]
    st, win = get(nd, q({"MATCH_epc": epc, "GE_eventTime": t_del, "LT_eventTime": t_sell}))
    wsteps = [e["provena:step"] for e in win["epcisBody"]["queryResults"]["resultsBody"]["eventList"]]
    assert wsteps and wsteps[0] == "deliver" and "sell" not in wsteps, wsteps
    st, none = get(nd, q({"MATCH_epc": epc, "GE_eventTime": "2000-01-01T00:00:00+01:00",
                          "LT_eventTime": "2000-01-01T00:00:00Z"}))
    assert st == 200 and none["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []
    with open(os.path.join(d, "query-window.json"), "w") as f:
        json.dump(win, f)

    # ---- each bad parameter its own code; the bounds at and past the limit -------------
    def refused(params, status, code):
        st, doc = get(nd, q(params) if params is not None else "/epcis/events")
        assert st == status and doc["error"]["code"] == code, (params, st, doc)
    refused(None, 413, "query_too_complex")
    refused({"MATCH_epc": epc, "EQ_bizstep": "shipping"}, 400, "unknown_parameter")
    refused({"MATCH_epc": "urn:epc:id:sgtin:1.2.3"}, 400, "bad_epc")
    refused({"MATCH_epc": f"https://x.example/01/{G[:-1]}0/21/A"}, 400, "bad_epc")
    refused({"MATCH_epc": ",".join([epc] * 17)}, 400, "too_many_values")
    st, _ = get(nd, q({"MATCH_epc": ",".join([epc] * 16)}))
    assert st == 200
    refused({"MATCH_epc": epc, "EQ_bizStep": "Shipping!"}, 400, "bad_biz_step")
    refused({"MATCH_epc": epc, "GE_eventTime": "yesterday"}, 400, "bad_time")
    refused({"MATCH_epc": epc, "LT_eventTime": "2026-13-01T00:00:00Z"}, 400, "bad_time")
    st, _ = get(nd, q({"MATCH_epc": epc, "GE_eventTime": "2026-01-01T00:00:00.123456789+01:00"}))
    assert st == 200  # 35 characters: the longest time accepted
    refused({"MATCH_epc": epc, "GE_eventTime": "2026-01-01T00:00:00.1234567890+01:00"}, 400,
            "bad_time")
    refused({"MATCH_epc": epc, "perPage": 0}, 400, "bad_per_page")
    refused({"MATCH_epc": epc, "perPage": 1001}, 400, "bad_per_page")
    st, _ = get(nd, q({"MATCH_epc": epc, "perPage": 1000}))
    assert st == 200
    refused({"MATCH_epc": epc, "nextPageToken": "garbage!"}, 400, "bad_page_token")
    refused({"MATCH_epc": epc, "nextPageToken": "NTowOg"}, 400, "bad_page_token")  # "5:0:" index past the list

    # ---- provena epcis export: a lot, a time range, to a file ----------------------------
    out = os.path.join(d, "export.json")
    r = cli("epcis", "export", "--gtin", G, "--lot", "0012", "--out", out, check=0, **N)
    with open(out) as f:
        exp = json.load(f)
    assert exp["type"] == "EPCISDocument"
    assert [e["eventID"] for e in exp["epcisBody"]["eventList"]] == [e["eventID"] for e in all_evs]
    out2 = os.path.join(d, "export-window.json")
    cli("epcis", "export", "--gtin", G, "--lot", "0012", "--from", t_del, "--to", t_sell,
        "--out", out2, check=0, **N)
    with open(out2) as f:
        exp2 = json.load(f)
    assert 0 < len(exp2["epcisBody"]["eventList"]) < len(all_evs)
    assert all(t_del <= e["eventTime"] < t_sell for e in exp2["epcisBody"]["eventList"])
    cli("epcis", "export", "--gtin", G, "--out", out2, check=2, **N)  # no lot: usage
    cli("epcis", "export", "--gtin", G, "--lot", "0012", "--from", "soon", "--out", out2, check=2, **N)
    r = cli("epcis", "export", "--gtin", G, "--lot", "NOLOT", "--out", out2, check=1, **N)
    assert "unknown_lot" in r.err and not os.path.exists(out2 + ".tmp"), r

    # ---- the streamed document the export reads: one event per line ----------------------
    st, hd, body = raw(c.nodes[1], f"/api/v1/lots/{G}/0012/epcis")
    assert st == 200, (st, body[:200])
    lines = body.decode().split("\n")
    assert lines[0].endswith('"eventList":[') and lines[-2:] == ["]}}", ""], lines[:1] + lines[-3:]
    assert len(lines) - 3 == len(all_evs)
    assert [json.loads(ln.rstrip(","))["eventID"] for ln in lines[1:-2]] == \
        [e["eventID"] for e in all_evs]
    assert hd.get("transfer-encoding") == "chunked", hd  # streamed, not built whole
    st, _, body = raw(c.nodes[1], f"/api/v1/lots/{G}/0012/epcis?EQ_bizStep=shipping")
    doc = json.loads(body)
    assert st == 200 and {e["bizStep"] for e in doc["epcisBody"]["eventList"]} == {"shipping"}
    st, _, body = raw(c.nodes[1], f"/api/v1/lots/{G}/0012/epcis?GE_eventTime=2999-01-01T00:00:00Z")
    assert st == 200 and json.loads(body)["epcisBody"]["eventList"] == [], body
    for path, status, code in ((f"/api/v1/lots/{G}/NOLOT/epcis", 404, "unknown_lot"),
                               (f"/api/v1/lots/{G[:-1]}0/0012/epcis", 400, "bad_unit"),
                               (f"/api/v1/lots/{G}/0012/epcis?perPage=5", 400, "unknown_parameter"),
                               (f"/api/v1/lots/{G}/0012/epcis?LT_eventTime=soon", 400, "bad_time")):
        st, _, body = raw(c.nodes[0], path)
        assert st == status and json.loads(body)["error"]["code"] == code, (path, st, body)

    # ---- GS1's tools on everything served -------------------------------------------------
    files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".json"))
    print(gs1_check("epcis", *files).strip())


def raw(nd, path):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", nd.http_port, timeout=lib.scaled(20))
    try:
        conn.request("GET", path, headers={"Accept": "application/json"})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


if __name__ == "__main__":
    main()
