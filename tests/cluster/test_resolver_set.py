"""The network's resolver base URL, changed by governance on a real 3-node network.

The genesis names a resolver; `provena mint` through a node puts it in the label
URLs. A brand then submits `provena resolver set URL` through node 1; every node
reports the new value in /api/v1/status, and a mint through node 3 (without
--resolver) prints labels that carry it. Malformed URLs (trailing '/', 129
bytes) are refused by the CLI before anything is signed, and an unregistered key
is refused by the ledger. All three nodes end at the same head and resolver.
"""

import csv
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

CLI = os.path.join(lib.BUILD, "provena")
TIMEOUT = lib.scaled(120)
GENESIS_RESOLVER = "https://genesis.acme.example"
NEW_RESOLVER = "https://id.acme.example/gs1"


def cli(*args, check=None):
    env = dict(os.environ)
    env.pop("PROVENA_KEY", None)
    env.pop("PROVENA_NODE", None)
    p = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, env=env,
                       timeout=TIMEOUT)
    if check is not None:
        assert p.returncode == check, (f"provena {' '.join(map(str, args))}: expected exit "
                                       f"{check}, got {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def mint_urls(c, nd, lot, d):
    path = os.path.join(d, f"{lot}.csv")
    p = cli("mint", "--gtin", lib.GTIN, "--lot", lot, "--count", 2, "--csv", path,
            "--key", c.brand_key, "--node", nd.http, check=0)
    assert "warning" not in p.stderr, p.stderr  # a public resolver: no loopback warning
    return [row["url"] for row in csv.DictReader(open(path))]


def resolvers(c):
    return [nd.status().get("resolver") for nd in c.nodes]


def run(c):
    with open(c.genesis) as f:
        doc = json.load(f)
    doc["resolver"] = GENESIS_RESOLVER
    with open(c.genesis, "w") as f:
        json.dump(doc, f, indent=1)
    c.start_all()
    c.leader(timeout=lib.scaled(30))
    assert resolvers(c) == [GENESIS_RESOLVER] * 3, resolvers(c)
    d = c.dir

    # before any resolver.set: the genesis's resolver
    urls = mint_urls(c, c.nodes[1], "G1", d)
    assert urls and all(u.startswith(GENESIS_RESOLVER + "/01/") for u in urls), urls
    # the brand's next step goes through node 1, which takes its nonce from what it
    # has applied: let it apply the mint first (else stale_nonce, as a CLI would say)
    c.wait_same_head(timeout=lib.scaled(30))

    # refused before signing: the genesis rule (exit 2 names the argument)
    long_url = "https://" + "r" * (128 - len("https://.example")) + ".example"
    assert len(long_url) == 128
    for bad in ["https://id.acme.example/", "ftp://id.acme.example", long_url + "x"]:
        p = cli("resolver", "set", bad, "--key", c.brand_key, "--node", c.nodes[0].http, check=2)
        assert "URL:" in p.stderr, p.stderr
    # refused by the ledger: a key that is no brand admin
    stranger = os.path.join(d, "stranger.key")
    cli("key", "new", stranger, check=0)
    p = cli("resolver", "set", "https://evil.example", "--key", stranger, "--node",
            c.nodes[0].http, check=1)
    assert "unknown_signer" in p.stderr, p.stderr

    # at the size limit: accepted, then replaced by the one the labels should carry
    cli("resolver", "set", long_url, "--key", c.brand_key, "--node", c.nodes[0].http, check=0)
    lib.wait_for(lambda: resolvers(c) == [long_url] * 3, lib.scaled(30), "128-byte resolver")
    p = cli("resolver", "set", NEW_RESOLVER, "--key", c.brand_key, "--node", c.nodes[0].http,
            check=0)
    lib.wait_for(lambda: resolvers(c) == [NEW_RESOLVER] * 3, lib.scaled(30),
                 "every node reports the new resolver")

    # a mint through another node carries the new resolver by default
    urls = mint_urls(c, c.nodes[2], "N1", d)
    assert urls and all(u.startswith(NEW_RESOLVER + "/01/") for u in urls), urls
    # the label signature does not depend on the resolver: verify accepts it offline
    cli("verify", urls[0], "--genesis", c.genesis, "--offline", check=0)

    c.wait_same_head(timeout=lib.scaled(30))
    assert resolvers(c) == [NEW_RESOLVER] * 3, resolvers(c)
    heads = {lib.head_key(nd.head()) for nd in c.nodes}
    assert len(heads) == 1, heads


def main():
    c = lib.Cluster(3, name="resolvset")
    ok = False
    try:
        run(c)
        ok = True
    finally:
        if not ok:
            c.dump_logs()
        c.shutdown(keep=not ok)
    print("test_resolver_set: OK")


if __name__ == "__main__":
    main()
