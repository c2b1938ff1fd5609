#!/usr/bin/env python3
"""provena-node refuses every bad option and every start it cannot make good,
naming the option or the file, before it listens or writes anything to the
ledger: exit 2 for an argument, 1 for a start that fails (a genesis, a data
directory, a key or a link setting that cannot be used). Each row runs the
binary once; none of them gets as far as the network, so the whole table takes
a second or two.
"""
import os
import socket
import subprocess
import sys

import lib


def run(args, timeout=30):
    p = subprocess.run([lib.NODE_BIN, *args], capture_output=True, text=True,
                       timeout=lib.scaled(timeout), stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout + p.stderr


def main():
    lib.require_built()
    c = lib.Cluster(1, name="args")
    nd = c.nodes[0]
    d = c.dir
    base = ["--genesis", c.genesis, "--id", "1", "--data", nd.data, "--key", nd.key,
            *nd.link_args()]
    afile = os.path.join(d, "afile")
    with open(afile, "w") as f:
        f.write("x\n")
    empty = os.path.join(d, "empty")
    open(empty, "w").close()
    os.chmod(empty, 0o600)

    def without(opt):
        i = base.index(opt)
        return base[:i] + base[i + 2:]

    # argument refusals: exit 2 and the option named
    args_cases = [
        (["--id"], "--id: missing value"),
        (["stray"], "stray: unexpected argument"),
        (["--colour", "red"], "--colour: unknown option"),
        (base + ["--id", "0"], "--id: not a node id"),
        (base + ["--id", "-1"], "--id: not a node id"),
        (base + ["--id", "18446744073709551616"], "--id: not a node id"),
        (base + ["--admin-token", "s3cret"], "--admin-token: removed"),
        (base + ["--peer-ca", "/nonexistent/ca.pem"], "--peer-ca: not a readable file"),
        (base + ["--session-ttl", "0"], "--session-ttl: not an integer in 1..86400"),
        (base + ["--session-ttl", "86401"], "--session-ttl: not an integer in 1..86400"),
        (base + ["--admin-token-file", "/nonexistent/t"], "/nonexistent/t"),
        (base + ["--admin-token-file", empty], f"--admin-token-file {empty}: want one line"),
        (base + ["--log-format", "xml"], "--log-format: not one of text, json"),
        (base + ["--raft", "udp://127.0.0.1:1"], "--raft: not a tls+tcp://HOST:PORT address"),
        (base + ["--raft-tls", ""], "--raft-tls: empty file name"),
        (base + ["--http", "ftp://127.0.0.1:1"], "--http: not an http:// or https://"),
        (base + ["--trusted-proxy", "proxy.example"], "--trusted-proxy: not an IPv4 or IPv6"),
        (base + ["--scan-secret-file", "/nonexistent/s"], "--scan-secret-file: "),
        (base + ["--conn-per-client", "0"], "--conn-per-client: not off or an integer"),
        (base + ["--conn-per-client", "65536"], "--conn-per-client: not off or an integer"),
        (base + ["--tx-rate", "1000001"], "--tx-rate: not off or an integer in 1..1000000"),
        (base + ["--tx-rate", "+5"], "--tx-rate: not off or an integer in 1..1000000"),
        (base + ["--tx-burst", "0"], "--tx-burst: not an integer in 1..1000000"),
        (base + ["--disk-reserve-mb", "1048577"], "--disk-reserve-mb: not an integer in 1..1048576"),
        (base + ["--region-header", "X Region"], "--region-header: not a header name"),
        (base + ["--region-header", ""], "--region-header: not a header name"),
        (base + ["--log-level", "loud"], "--log-level: not one of error, warn, info, debug"),
        (base + ["--snapshot-threshold", "4294967296"], "--snapshot-threshold: not a positive"),
        (base + ["--http-threads", "257"], "--http-threads: not an integer in 1..256"),
        (base + ["--http-threads", "0"], "--http-threads: not an integer in 1..256"),
        (without("--genesis"), "--genesis: required"),
        (without("--id"), "--id: required"),
        (without("--data"), "--data: required"),
        (base + ["--region-header", "X-Region"], "--region-header: needs --trusted-proxy"),
        (base + ["--tls-cert", afile], f"--tls-cert {afile}: want a PEM file"),
        (base + ["--join"], "--join: needs --raft and --http"),
    ]
    for args, want in args_cases:
        rc, out = run(args)
        assert rc == 2 and want in out, f"{args[-2:]}: exit {rc}, want 2 and {want!r}:\n{out}"
    print(f"  {len(args_cases)} bad arguments: exit 2, each named")

    # help and version answer on stdout and exit 0
    for a, want in (("--help", "--genesis"), ("-h", "--data"), ("--version", "provena-node")):
        rc, out = run([a])
        assert rc == 0 and want in out, f"{a}: exit {rc}: {out}"

    # start refusals: exit 1, the reason named, nothing listening
    other_key = os.path.join(d, "other.key")
    lib.txtool("key", other_key)
    start_cases = [
        (["--genesis", "/nonexistent/g.json"] + base[2:],
         "start failed: --genesis /nonexistent/g.json"),
        (["--genesis", afile] + base[2:], f"start failed: --genesis {afile}: genesis: line 1"),
        (base[:4] + ["--data", afile] + base[6:],
         f"start failed: data directory {afile}: Not a directory"),
        (base[:6] + ["--key", other_key] + base[8:],
         f"start failed: --key {other_key}: not the key registered for node 1"),
        (base[:6] + ["--key", "/nonexistent/k"] + base[8:], "start failed: --key /nonexistent/k"),
        (base[:2] + ["--id", "7"] + base[4:], "start failed: --id 7: not a node of this network"),
        (without("--raft-tls"), "--raft-tls FILE required"),
    ]
    for args, want in start_cases:
        rc, out = run(args)
        assert rc == 1 and want in out, \
            f"{args}: exit {rc}, want a start failure naming {want!r}:\n{out}"
        with socket.socket() as s:  # nothing was left listening
            assert s.connect_ex(("127.0.0.1", nd.http_port)) != 0
    print(f"  {len(start_cases)} starts refused: exit 1, the file or setting named")

    # control: the same base arguments start a node that serves
    nd.start()
    nd.stop()
    c.shutdown()
    print("  control: the base arguments start and stop cleanly")
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
