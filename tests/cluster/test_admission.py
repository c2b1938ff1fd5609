"""Admission that protects the ledger, against real provena-node processes.

1. Three nodes: 1,000 claim attempts from a fresh, unregistered key (of a
   unit with no claim pending) and a mint signed by that key are refused at
   admission with the rules' own codes; none of them reaches the log (no tx
   id known, the head does not move). (Wrong codes for a pending claim, and
   the owner's steps: tests/unit/chain/test_standing.c.)
2. One node with --tx-rate 1 --tx-burst 5: per client, 5 submissions pass
   the limit and the 6th is 429 with Retry-After; a batch of exactly 5 from a
   fresh client passes and one of 6 is 429; per signer, 5 transactions of one
   key sent from 5 different client addresses pass and the 6th is 429.
3. One node with --conn-per-client 8: 8 connections from one address are
   served, the 9th is closed at once, another address is served; and on the
   default cap one address holding 1,100 connections leaves a normal request
   from another address fast.
Client addresses are loopback aliases (127.0.0.2 ...): Linux routes all of
127/8 to lo, so a socket bound to one is a different client to the node.
"""
import http.client
import json
import os
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402


class SrcConn(http.client.HTTPConnection):
    """An HTTP connection from a chosen loopback source address."""

    def __init__(self, port, src, timeout):
        super().__init__("127.0.0.1", port, timeout=timeout, source_address=(src, 0))


def post(nd, path, body, ctype="application/cbor", src="127.0.0.1"):
    conn = SrcConn(nd.http_port, src, lib.scaled(30))
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": ctype,
                                                        "Accept": "application/json"})
        r = conn.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data else None), dict(r.getheaders())
    finally:
        conn.close()


def cbor_array(items):
    """A definite CBOR array of byte strings (the batch form of POST /api/v1/tx)."""
    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        if n < 256:
            return bytes([major << 5 | 24, n])
        if n < 65536:
            return bytes([major << 5 | 25]) + n.to_bytes(2, "big")
        return bytes([major << 5 | 26]) + n.to_bytes(4, "big")
    out = head(4, len(items))
    for b in items:
        out += head(2, len(b)) + b
    return out


def txtool_claim(c, key, nonce, serial, code):
    return lib.txtool("claim", c.genesis, key, nonce, lib.GTIN, serial, code)[0]


def part1_standing():
    c = lib.Cluster(3, name="admission")
    try:
        c.start_all()
        c.leader()
        txid, hexcbor = c.mint(["A1", "A2"], lot="L1")
        st, doc = c.nodes[0].submit_cbor(hexcbor)
        assert st == 200 and doc["status"] == "accepted", (st, doc)
        c.wait_tx_everywhere([txid])
        h0 = c.nodes[0].head()["height"]
        eve = os.path.join(c.dir, "eve.key")
        lib.txtool("key", eve)
        # 1,000 claims of a unit with no claim pending, in batches across nodes
        txs = [bytes.fromhex(line[1]) for line in
               lib.txtool("claim-seq", c.genesis, eve, 1, 1000, lib.GTIN, "A1", "guess")]
        assert len(txs) == 1000
        codes = {}
        for i in range(0, 1000, 250):
            nd = c.nodes[(i // 250) % 3]
            st, doc, _ = post(nd, "/api/v1/tx", cbor_array(txs[i:i + 250]))
            assert st == 200, (st, doc)
            for rc in doc["receipts"]:
                assert rc["status"] == "rejected", rc
                assert "refused at admission" in rc.get("detail", ""), rc
                codes[rc["code"]] = codes.get(rc["code"], 0) + 1
        assert codes == {"no_offer": 1000}, codes
        # a mint signed by the unknown key, alone: 422 unknown_signer at once
        _, mint_hex = lib.txtool("mint", c.genesis, eve, 1, lib.GTIN, "L9", "EVE1")[0]
        st, doc, _ = post(c.nodes[1], "/api/v1/tx", bytes.fromhex(mint_hex))
        assert st == 422 and doc["error"]["code"] == "unknown_signer", (st, doc)
        # nothing of it reached the log
        time.sleep(lib.scaled(2))
        for nd in c.nodes:
            assert nd.head()["height"] == h0, ("the head moved", nd.id, nd.head(), h0)
        for t in txs[:5] + txs[-5:]:
            tid = lib.txtool("id-of", t.hex())[0][0]
            for nd in c.nodes:
                st, _ = nd.get(f"/api/v1/tx/{tid}")
                assert st == 404, (nd.id, st)
        print(f"ok: 1,000 claims + a mint from an unregistered key refused at admission "
              f"({codes}); head stays at {h0} on all 3 nodes, no tx id known")
    except Exception:
        c.dump_logs()
        raise
    finally:
        c.shutdown()


def part2_rates():
    c = lib.Cluster(1, name="txrate", node_args=("--tx-rate", "1", "--tx-burst", "5"))
    try:
        c.start_all()
        c.leader()
        nd = c.nodes[0]

        def fresh_claim(name):
            k = os.path.join(c.dir, name + ".key")
            lib.txtool("key", k)
            return bytes.fromhex(txtool_claim(c, k, 1, "NOPE", "x")[1])
        # Every tx is signed before the first post of its step: the bucket refills
        # one token a second, and txtool is slow on a loaded or sanitized build.
        # per client: burst 5 (each refused at admission, 404 unknown_unit … but
        # past the limit), then 429
        claims = [fresh_claim(f"c{i}") for i in range(6)]
        for i in range(5):
            st, doc, _ = post(nd, "/api/v1/tx", claims[i], src="127.0.0.2")
            assert st != 429, (i, st, doc)
        st, doc, hdr = post(nd, "/api/v1/tx", claims[5], src="127.0.0.2")
        assert st == 429 and doc["error"]["code"] == "rate_limited", (st, doc)
        assert int(hdr["Retry-After"]) >= 1, hdr
        print(f"ok: per client: 5 submissions pass, the 6th 429 (Retry-After "
              f"{hdr['Retry-After']})")
        # a batch of exactly the burst passes, one more is refused whole
        five = cbor_array([fresh_claim(f"b{i}") for i in range(5)])
        six = cbor_array([fresh_claim(f"d{i}") for i in range(6)])
        st, doc, _ = post(nd, "/api/v1/tx", five, src="127.0.0.3")
        assert st == 200 and len(doc["receipts"]) == 5, (st, doc)
        st, doc, hdr = post(nd, "/api/v1/tx", six, src="127.0.0.4")
        assert st == 429 and doc["error"]["code"] == "rate_limited", (st, doc)
        print("ok: a batch of 5 passes, a batch of 6 is 429 (over the client's burst)")
        # per signer: one key, five addresses pass, the sixth address is refused
        k = os.path.join(c.dir, "signer.key")
        lib.txtool("key", k)
        signed = [bytes.fromhex(txtool_claim(c, k, i + 1, "NOPE", "x")[1]) for i in range(6)]
        for i in range(5):
            st, doc, _ = post(nd, "/api/v1/tx", signed[i], src=f"127.0.1.{i + 10}")
            assert st != 429, (i, st, doc)
        st, doc, hdr = post(nd, "/api/v1/tx", signed[5], src="127.0.1.99")
        assert st == 429 and doc["error"]["code"] == "rate_limited", (st, doc)
        assert "signer" in doc["error"]["message"], doc
        print("ok: per signer: 5 txs of one key from 5 addresses pass, the 6th is 429")
    except Exception:
        c.dump_logs()
        raise
    finally:
        c.shutdown()


def served(port, src, conn=None):
    """GET /api/v1/head on conn (or a new connection from src): True when answered."""
    own = conn is None
    if own:
        conn = SrcConn(port, src, lib.scaled(5))
    try:
        conn.request("GET", "/api/v1/head", headers={"Accept": "application/json"})
        return conn.getresponse().read() is not None
    except (OSError, http.client.HTTPException):
        return False
    finally:
        if own:
            conn.close()


def part3_connections():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1300:
        lib.skip(f"needs 1,300 file descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 4096,
                                                hard))
    c = lib.Cluster(1, name="conncap", node_args=("--conn-per-client", "8"))
    try:
        c.start_all()
        c.leader()
        nd = c.nodes[0]
        held = [SrcConn(nd.http_port, "127.0.0.5", lib.scaled(5)) for _ in range(8)]
        assert all(served(nd.http_port, None, h) for h in held), "8 connections at the cap"
        ninth = SrcConn(nd.http_port, "127.0.0.5", lib.scaled(5))
        assert not served(nd.http_port, None, ninth), "the 9th connection must be refused"
        assert served(nd.http_port, "127.0.0.6"), "another address is served"
        held[0].close()
        lib.wait_for(lambda: served(nd.http_port, "127.0.0.5"), lib.scaled(5),
                     "a connection after one closed")
        for h in held[1:] + [ninth]:
            h.close()
        print("ok: --conn-per-client 8: 8 served, the 9th refused, other address served")
    except Exception:
        c.dump_logs()
        raise
    finally:
        c.shutdown()

    c = lib.Cluster(1, name="connflood")
    socks = []
    try:
        c.start_all()
        c.leader()
        nd = c.nodes[0]
        for _ in range(1100):
            s = socket.socket()
            s.bind(("127.0.0.7", 0))
            try:
                s.connect(("127.0.0.1", nd.http_port))
            except OSError:
                pass
            socks.append(s)
        worst = 0.0
        for _ in range(20):
            t0 = time.monotonic()
            assert served(nd.http_port, "127.0.0.1"), "a normal request is served"
            worst = max(worst, time.monotonic() - t0)
        assert worst < lib.scaled(1.0), f"normal request took {worst:.2f}s"
        print(f"ok: one address holding 1,100 connections: 20 normal requests, slowest "
              f"{worst * 1000:.0f} ms")
    except Exception:
        c.dump_logs()
        raise
    finally:
        for s in socks:
            s.close()
        c.shutdown()


def main():
    lib.require_built()
    part1_standing()
    part2_rates()
    part3_connections()
    print("7 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
