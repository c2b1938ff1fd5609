"""Catch-up over HTTPS: three nodes whose gateways serve HTTPS (--tls-cert,
--tls-key; the ledger names https:// addresses). Node 3 is stopped while the
others commit past a snapshot, then restarted: it fetches the blocks it misses
from the others' https:// gateways, verifying their certificate against
--peer-ca, pins them to the marker's block id, replays them and ends with the
same head and state digest.
"""

import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import scaled, wait_for  # noqa: E402

SNAPSHOT_THRESHOLD = 16


def main():
    lib.require_built()
    if not shutil.which("openssl"):
        print("SKIPPED: openssl not installed (scripts/install-deps.sh)")
        return 77
    c = lib.Cluster(3, "catchtls", tls=True,
                    node_args=["--snapshot-threshold", str(SNAPSHOT_THRESHOLD)])
    n1, n2, n3 = c.nodes
    try:
        assert all(nd.http.startswith("https://") for nd in c.nodes)
        c.start_all()
        c.leader()
        n3.stop()
        live = [n1, n2]
        ld = c.leader(nodes=live)
        ids = []
        for txid, cbor in c.mint_seq(3 * SNAPSHOT_THRESHOLD, "tl"):
            st, doc = ld.submit_until_definite(cbor, scaled(30))
            assert st == 200, (st, doc)
            ids.append(txid)
        wait_for(lambda: all("snapshot" in nd.log_text() for nd in live), scaled(20),
                 "a snapshot on both live nodes")
        n3.start()
        c.wait_same_head(timeout=scaled(90))
        c.wait_tx_everywhere(ids[:3] + ids[-3:], nodes=[n3])
        log = n3.log_text()
        m = re.search(r"snapshot installed: height (\d+), index \d+ \((\d+) blocks replayed", log)
        assert m and int(m.group(2)) > 0, n3.log_tail(30)
        assert "verified back to the committed head id" in log, n3.log_tail(30)
        assert "catch-up: node" not in log, n3.log_tail(30)
        print(f"ok: node 3 replayed {m.group(2)} blocks fetched over HTTPS (certificate "
              f"verified with --peer-ca), same head and state digest")
        for nd in c.nodes:
            nd.stop()
        print("test_catchup_tls: OK")
        return 0
    except Exception:
        c.dump_logs()
        raise
    finally:
        c.shutdown()


if __name__ == "__main__":
    sys.exit(main())
