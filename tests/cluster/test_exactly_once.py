"""Exactly-once from the client's side: the provena CLI across leader stops.

A brand mints units one at a time (`provena mint --count 1`, the pipelined
wait=0 path) and flags each new unit (`provena flag`, the one-tx path), every
command given the whole --node list, while the test stops the leader (a clean
SIGTERM) and starts it again, twice. Every command must end in exit 0
(accepted) or 3 (outcome unknown, with the tx id): a 1 would be a false
failure, since nothing here is refusable. Every unknown is then settled with
`provena tx status ID --wait`, and the ledger must hold exactly one unit per
mint that committed: a resubmission never mints twice.
"""

import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

ROUNDS = 14


cli = lib.run_cli


def main():
    c = lib.Cluster(3, name="exactly-once")
    ok = False
    try:
        c.start_all()
        leader = c.leader()
        nodes = ",".join(nd.http for nd in [leader] + [n for n in c.nodes if n is not leader])
        results = []  # (kind, rc, stdout, stderr)
        done = threading.Event()

        def client():
            for i in range(ROUNDS):
                rc, out, err = cli("mint", "--gtin", lib.GTIN, "--lot", f"R{i}", "--count", 1,
                                   "--batch", 1, "--node", nodes, "--key", c.brand_key)
                results.append(("mint", rc, out, err))
                unit = out.strip()
                if rc == 0 and unit:
                    rc, out, err = cli("flag", "--reason", "recalled", unit, "--node", nodes,
                                       "--key", c.brand_key)
                    results.append(("flag", rc, out, err))
            done.set()

        t = threading.Thread(target=client)
        t.start()
        for _ in range(2):
            time.sleep(1.0)
            ld = c.leader()
            ld.stop()  # clean stop: waiting submitters are told, or time out
            time.sleep(1.5)
            ld.start()
        t.join(lib.scaled(600))
        assert done.is_set(), "the client did not finish"

        false_failures = [r for r in results if r[1] not in (0, 3)]
        assert not false_failures, "false failures:\n" + "\n".join(
            f"{k} rc={rc}\n{out}{err}" for k, rc, out, err in false_failures)

        committed_mints = sum(1 for k, rc, _, _ in results if k == "mint" and rc == 0)
        unknown = [r for r in results if r[1] == 3]
        for kind, _, out, err in unknown:
            ids = re.findall(r"tx ([0-9a-f]{64})", out + err)
            assert ids, f"{kind}: outcome unknown without a tx id:\n{out}{err}"
            for txid in set(ids):
                rc, sout, serr = cli("tx", "status", txid, "--node", nodes, "--wait", 30)
                assert rc in (0, 3), f"tx status {txid}: rc={rc}\n{sout}{serr}"
                if kind == "mint" and rc == 0:
                    committed_mints += 1
        c.start_all()
        head = c.wait_same_head()
        units = c.nodes[0].head().get("units")
        print(f"{len(results)} commands, {len(unknown)} unknown, {committed_mints} mints "
              f"committed, ledger holds {units} units, head {head[0]}")
        assert units == committed_mints, f"{units} units for {committed_mints} committed mints"
        assert sum(1 for r in results if r[0] == "mint") == ROUNDS
        ok = True
    finally:
        if not ok:
            c.dump_logs()
        c.shutdown(keep=not ok)
    print("ok")


if __name__ == "__main__":
    main()
