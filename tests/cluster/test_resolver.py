"""The GS1-conformant resolver on a real provena-node.

One node; two units minted. A unit's Digital Link URL answers:
- ?linkType=linkset, ?linkType=all and Accept: application/linkset+json with the same
  RFC 9264 linkset (validated with ajv against GS1's linkset schema and the RFC 9264
  one), whose links (gs1:pip, gs1:defaultLink, gs1:registerProduct,
  gs1:traceability, gs1:recallStatus, gs1:certificationInfo) all resolve;
- a Link header on every resolution (page and JSON) naming the linkset and each link;
- ?linkType=gs1:<term> (or the term's full URI) with a 307 to that link's target;
- each bad linkType with its own code, at its length bound and one past it;
a compressed Digital Link (made by GS1's reference implementation) answers a 307 to
its uncompressed form, and a bad one 400 bad_compressed_link with its reason; and
/.well-known/gs1resolver describes the resolver. Every URI in the linkset is
checked with digital-link.js where it is a Digital Link.
"""

import http.client
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "gs1_check.js")
G = lib.GTIN
VOC = "https://gs1.org/voc/"


def gs1_check(mode, *args):
    p = subprocess.run(["node", CHECK, mode, *args], capture_output=True, text=True,
                       timeout=lib.scaled(120))
    assert p.returncode == 0, f"gs1_check {mode}: {p.stdout}\n{p.stderr}"
    return p.stdout


def req(nd, path, accept="application/json"):
    conn = http.client.HTTPConnection("127.0.0.1", nd.http_port, timeout=lib.scaled(20))
    try:
        conn.request("GET", path, headers={"Accept": accept})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def main():
    c = lib.Cluster(1, name="resolver")
    nd = c.nodes[0]
    ok = False
    try:
        nd.start()
        c.leader()
        run(c, nd)
        ok = True
    finally:
        if not ok:
            c.dump_logs()
        nd.stop()
        c.shutdown(keep=not ok)
    print("test_resolver: OK")


def run(c, nd):
    gs1_check("selftest")
    d = tempfile.mkdtemp(prefix="resolver-", dir=c.dir)
    txid, hexcbor = c.mint(["RS1", "RS2"], lot="L1")
    st, doc = nd.submit_cbor(hexcbor)
    assert st == 200 and doc["status"] == "accepted", (st, doc)
    page = f"/01/{G}/21/RS1"

    # ---- the linkset, three ways to ask --------------------------------------------------
    bodies = []
    for path, accept in ((page + "?linkType=linkset", "application/json"),
                         (page + "?linkType=all", "text/html"),
                         (page, "application/linkset+json"),
                         (f"/01/{G}/10/L1/21/RS1?linkType=linkset", "*/*")):
        st, hd, body = req(nd, path, accept)
        assert st == 200 and hd["content-type"] == "application/linkset+json", (path, st, hd, body)
        assert 'rel="linkset"' in hd.get("link", ""), hd
        bodies.append(json.loads(body))
    assert all(b == bodies[0] for b in bodies), bodies
    ls = bodies[0]
    f = os.path.join(d, "linkset.json")
    with open(f, "w") as fh:
        json.dump(ls, fh)
    print(gs1_check("linkset", f).strip())
    item = ls["linkset"][0]
    anchor = f"{nd.http}/01/{G}/21/RS1"
    assert item["anchor"] == anchor, item
    rels = {k for k in item if k.startswith(VOC)}
    assert rels == {VOC + t for t in ("pip", "defaultLink", "registerProduct", "traceability",
                                      "recallStatus", "certificationInfo")}, rels
    assert item[VOC + "recallStatus"][0]["title"] == "Recall status: not recalled"
    for rel in rels:  # every link resolves on the node
        href = item[rel][0]["href"]
        assert href.startswith(nd.http), href
        path = href[len(nd.http):].split("#")[0]
        st, hd, body = req(nd, path, item[rel][0]["type"])
        assert st == 200, (rel, href, st, body[:200])
        if rel == VOC + "traceability":
            assert json.loads(body)["type"] == "EPCISDocument"
    gs1_check("dl", anchor, item[VOC + "pip"][0]["href"])

    # ---- the Link header on every resolution --------------------------------------------
    for accept in ("text/html", "application/json"):
        st, hd, _ = req(nd, page, accept)
        assert st == 200, st
        link = hd.get("link", "")
        assert f"<{anchor}?linkType=linkset>; rel=\"linkset\"" in link, link
        for t in ("pip", "traceability", "recallStatus", "certificationInfo", "registerProduct"):
            assert f'rel="{VOC}{t}"' in link, (t, link)
    st, hd, _ = req(nd, f"/01/{G}/21/NOPE1", "application/json")
    assert st == 404 and "link" not in hd, (st, hd)  # an unknown unit has no links

    # ---- linkType redirects ----------------------------------------------------------------
    for lt, target in (("gs1:pip", anchor), ("gs1:defaultLink", anchor),
                       ("gs1:traceability", f"{nd.http}/api/v1/units/{G}/RS1/epcis"),
                       (VOC + "recallStatus", f"{nd.http}/api/v1/units/{G}/RS1"),
                       ("gs1:registerProduct", anchor + "#claim")):
        st, hd, body = req(nd, page + "?linkType=" + lt.replace(":", "%3A").replace("/", "%2F"))
        assert st == 307 and hd.get("location") == target, (lt, st, hd, body)
        assert "link" in hd

    # ---- bad input: each its own code ------------------------------------------------------
    def refused(query, status, code, path=page):
        st, hd, body = req(nd, path + query)
        doc = json.loads(body)
        assert st == status and doc["error"]["code"] == code, (query, st, doc)
    refused("?linkType=gs1:nutritionalInfo", 404, "link_type_unavailable")
    refused("?linkType=bogus", 400, "bad_link_type")
    refused("?linkType=gs1:", 400, "bad_link_type")
    refused("?linkType=gs1:pip%20x", 400, "bad_link_type")
    refused("?linkType=gs1:" + "a" * 124, 404, "link_type_unavailable")  # 128 bytes: the bound
    refused("?linkType=gs1:" + "a" * 125, 400, "bad_link_type")  # one past it
    refused("?linkType=linkset", 404, "unknown_unit", path=f"/01/{G}/21/NOPE1")
    refused("?linkType=linkset", 400, "bad_unit", path=f"/01/{G[:-1]}0/21/RS1")

    # ---- compressed Digital Links (GS1 Digital Link compression) -------------------------------
    longs = [f"{nd.http}/01/{G}/10/L1/21/RS1", f"{nd.http}/01/{G}/21/RS2?17=271231&sig=AbC-_9"]
    out = gs1_check("compress", *longs).splitlines()
    shorts = [ln for ln in out if not ln.startswith("ok:")]
    assert len(shorts) == 2 and all(x.startswith(nd.http + "/") for x in shorts), out
    for long, short in zip(longs, shorts):
        path = short[len(nd.http):]
        assert "/" not in path[1:], path  # fully compressed: one segment
        st, hd, body = req(nd, path)
        assert st == 307 and hd.get("location") == long[len(nd.http):], (path, st, hd, body)
        assert json.loads(body)["location"] == hd["location"]
    # the request's own query rides along as sent, escapes kept
    path = shorts[0][len(nd.http):]
    st, hd, _ = req(nd, path + "?linkType=linkset&x=a%26b%0D%0A")
    assert st == 307 and hd["location"] == \
        f"/01/{G}/10/L1/21/RS1?linkType=linkset&x=a%26b%0D%0A", hd
    st, hd, body = req(nd, hd["location"], "*/*")  # and lands on the linkset
    assert st == 200 and json.loads(body) == ls, (st, body[:200])
    st, hd, _ = req(nd, path, "application/linkset+json")
    st, hd, body = req(nd, hd["location"], "application/linkset+json")
    assert st == 200 and hd["content-type"] == "application/linkset+json", (st, hd)
    # the primary key left uncompressed (a vector of the reference implementation)
    st, hd, _ = req(nd, "/01/09520123456788/Fz_AohQ6vA")
    assert st == 307 and hd["location"] == "/01/09520123456788/21/ABC?17=261130", (st, hd)
    # bad compressed input: 400 bad_compressed_link, saying why; not a link at all: 404
    for bad, why in (("/DBFRJydaKAow", "truncated"),                 # cut inside the serial
                     ("/01/09520123456789/Fz_AohQ6vA", "check digit"),
                     ("/" + "A" * 256, "appears twice"),           # 256: read, then refused
                     ("/" + "A" * 257, "1 to 256")):               # one past the bound
        st, hd, body = req(nd, bad)
        doc = json.loads(body)
        assert st == 400 and doc["error"]["code"] == "bad_compressed_link", (bad, st, doc)
        assert why in doc["error"]["message"], (bad, doc)
        assert "location" not in hd
    for path in ("/nope", "/favicon.ico", "/DBFRJyda.x"):
        st, hd, body = req(nd, path)
        assert st == 404 and json.loads(body)["error"]["code"] == "not_found", (path, st, body)

    # ---- the resolver's description ----------------------------------------------------------
    st, hd, body = req(nd, "/.well-known/gs1resolver")
    wk = json.loads(body)
    assert st == 200 and wk["resolverRoot"] == nd.http and wk["supportedPrimaryKeys"] == ["01"], wk
    assert wk["supportedLinkType"][0]["prefix"] == "gs1:"
    assert {x["linkType"] for x in wk["linkTypes"]} >= {"pip", "traceability", "recallStatus"}


if __name__ == "__main__":
    main()
