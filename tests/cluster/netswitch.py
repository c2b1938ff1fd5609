"""A user-space IP switch with per-link delay, jitter, loss, reordering and
cuts: what `tc qdisc ... netem` does, for kernels built without sch_netem.

Started by tests/cluster/netns.py in the run's hub namespace, as
    python3 netswitch.py PREFIX SUBNET K1 K2 ... 254
it opens one TUN device per port (IFF_TUN, no packet info), moves the device of
port K into namespace PREFIX-nK and gives it SUBNET.K/24 there; port 254 stays
in the hub (the test's own address). Every IPv4 packet read from port A for
SUBNET.B is written to port B after crossing link A (out) and link B (in):
each link drops it with its own loss probability, both add their delay
(plus a uniform jitter), and a cut link drops everything. With `reorder`, that
share of packets skips the delay (as netem's reorder does). Packets leave in
order of their due time, so a plain delay keeps order.

Control, one command a line on stdin, one answer line on stdout:
    set K delay=MS jitter=MS loss=PCT reorder=PCT cut=0|1   -> ok
    stale K      -> ok: every TCP connection of port K open so far is black-holed
                    for good (no reset, no error), new ones pass: a peer that
                    lost its connections without closing them (a middlebox that
                    forgot them, a host that came back with no state)
    stats                                                   -> JSON counters
It prints "ready" once every port is up and exits when stdin closes, which
removes its TUN devices. Nothing here is specific to Provena.
"""

import fcntl
import heapq
import json
import os
import random
import select
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
PKT_MAX = 65535
QUEUE_MAX = 20000  # packets in flight at once; more are dropped (a full queue)


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


class Link:
    def __init__(self):
        self.delay = self.jitter = self.loss = self.reorder = 0.0
        self.cut = False

    def lost(self, rng):
        return self.cut or (self.loss > 0 and rng.random() * 100 < self.loss)

    def latency(self, rng):
        if self.reorder > 0 and rng.random() * 100 < self.reorder:
            return 0.0
        d = self.delay
        if self.jitter:
            d += rng.uniform(-self.jitter, self.jitter)
        return max(d, 0.0) / 1000.0


def main():
    prefix, subnet, ports = sys.argv[1], sys.argv[2], [int(k) for k in sys.argv[3:]]
    rng = random.Random(int(os.environ.get("NETSWITCH_SEED", "0")) or None)
    fds, links = {}, {k: Link() for k in ports}
    for k in ports:
        name = f"pvt{k}"
        fds[k] = open_tun(name)
        if k == 254:
            ns = []
        else:
            ip("link", "set", name, "netns", f"{prefix}-n{k}")
            ns = ["-n", f"{prefix}-n{k}"]
        ip(*ns, "addr", "add", f"{subnet}.{k}/24", "dev", name)
        ip(*ns, "link", "set", name, "up")
    port_of_fd = {fd: k for k, fd in fds.items()}
    stats = {"forwarded": 0, "dropped": 0, "unroutable": 0, "queue_full": 0, "stale": 0}
    flows = {"seen": set(), "dead": set()}  # TCP (addresses, ports) of each direction
    queue, seq = [], 0
    stdin = sys.stdin.fileno()
    print("ready", flush=True)
    buf = b""
    while True:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out, pkt = heapq.heappop(queue)
            try:
                os.write(fds[out], pkt)
                stats["forwarded"] += 1
            except OSError:
                stats["dropped"] += 1  # the port's device is down: as on a wire
        timeout = max(0.0, queue[0][0] - now) if queue else 1.0
        readable, _, _ = select.select([stdin, *fds.values()], [], [], timeout)
        for fd in readable:
            if fd == stdin:
                chunk = os.read(stdin, 4096)
                if not chunk:
                    return 0
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    print(command(line.decode().split(), links, stats, flows), flush=True)
                continue
            src = port_of_fd[fd]
            for _ in range(64):  # a burst, then look at the others again
                try:
                    pkt = os.read(fd, PKT_MAX)
                except BlockingIOError:
                    break
                if len(pkt) < 20 or pkt[0] >> 4 != 4:
                    continue  # IPv4 only (the test network has no IPv6 addresses)
                dst = pkt[19]
                if dst not in links or pkt[16:19] != bytes(map(int, subnet.split("."))):
                    stats["unroutable"] += 1
                    continue
                if pkt[9] == 6:  # TCP: its flow, for `stale`
                    ihl = (pkt[0] & 15) * 4
                    flow = pkt[12:20] + pkt[ihl:ihl + 4]
                    if flow in flows["dead"]:
                        stats["stale"] += 1
                        continue
                    flows["seen"].add(flow)
                a, b = links[src], links[dst]
                if a.lost(rng) or b.lost(rng):
                    stats["dropped"] += 1
                    continue
                if len(queue) >= QUEUE_MAX:
                    stats["queue_full"] += 1
                    continue
                seq += 1
                due = time.monotonic() + a.latency(rng) + b.latency(rng)
                heapq.heappush(queue, (due, seq, dst, pkt))


def command(words, links, stats, flows):
    if words == ["stats"]:
        return json.dumps(stats)
    if len(words) == 2 and words[0] == "stale":
        try:
            k = int(words[1])
        except ValueError as e:
            return f"error {e}"
        if k not in links:
            return f"error no port {k}"
        flows["dead"] |= {f for f in flows["seen"] if k in (f[3], f[7])}
        return "ok"
    if len(words) >= 2 and words[0] == "set":
        try:
            link = links[int(words[1])]
            new = Link()
            for w in words[2:]:
                key, val = w.split("=", 1)
                if key == "cut":
                    new.cut = val == "1"
                elif key in ("delay", "jitter", "loss", "reorder"):
                    setattr(new, key, float(val))
                else:
                    return f"error unknown setting {key}"
        except (KeyError, ValueError) as e:
            return f"error {e}"
        link.__dict__.update(new.__dict__)
        return "ok"
    return "error unknown command"


if __name__ == "__main__":
    sys.exit(main())
