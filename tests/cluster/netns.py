"""Network faults for cluster tests: every node in its own network namespace.

A Net builds, for one test run, namespaces named PREFIX-hub and PREFIX-n1 ..
PREFIX-nN (PREFIX unique per run: "pvn" + pid + a random tag). Node K's
namespace has one interface, pvtK, with 10.77.0.K/24; the hub has pvt254 with
10.77.0.254/24. The interfaces are TUN devices of tests/cluster/netswitch.py,
a user-space switch running in the hub that carries every packet between them
and applies each link's faults: delay, jitter, loss, reordering, cut (the
kernels this runs on may lack sch_netem, so `tc netem` cannot be relied on;
the switch needs only TUN). Nothing is created on the host's own interfaces
and no packet of a test leaves the namespaces.

The test process itself moves into the hub namespace (setns on its calling
thread; threads it starts later inherit it), so its HTTP client reaches every
gateway through the switch. inside(K) runs a block from node K's namespace
(to reach a node whose link is cut, or to read its status without crossing its
slow link).

Faults, per node link, both directions (a packet from A to B crosses link A
and link B):
  cut(K) / heal(K)    every packet to or from K vanishes (no reset, no error)
  shape(K, delay=200, loss=5, jitter=0, reorder=0)   ms and percent
  unshape(K)          a clean link again
  stale(K)            K's TCP connections open so far vanish for good, new ones pass

close() ends what the test started (safe to call twice; call it from a
finally after the node processes have ended): it moves the process back to
its first namespace, stops the switch (its TUN devices go with it) and
deletes every namespace of the run. A run without CAP_NET_ADMIN, `ip` or
/dev/net/tun skips (exit 77).
"""

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import subprocess
import sys

import lib

CLONE_NEWNET = 0x40000000
SUBNET = "10.77.0"
SWITCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "netswitch.py")

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"setns {path}: {os.strerror(e)}")
    finally:
        os.close(fd)


def _run(*args, check=True):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return p


class Net:
    def __init__(self, n):
        if not shutil.which("ip"):
            lib.skip("`ip` not installed (iproute2)")
        if not os.access("/dev/net/tun", os.R_OK | os.W_OK):
            lib.skip("/dev/net/tun not available")
        self.n = n
        self.prefix = f"pvn{os.getpid()}{secrets.token_hex(2)}"
        self.hub = f"{self.prefix}-hub"
        self.made = []  # namespaces created, deleted by close()
        self.home_fd = None
        self.moved = False
        self.switch = None
        probe = _run("ip", "netns", "add", self.hub, check=False)
        if probe.returncode == 0:
            self.made.append(self.hub)
            probe = _run("ip", "-n", self.hub, "link", "set", "lo", "up", check=False)
        if probe.returncode != 0:
            self.close()
            lib.skip(f"cannot configure a network namespace (needs CAP_NET_ADMIN): "
                     f"{probe.stderr.strip()}")
        try:
            self._build()
        except Exception:
            self.close()
            raise

    def ns(self, k):
        return f"{self.prefix}-n{k}"

    def addr(self, k):
        return f"{SUBNET}.{k}"

    def hosts(self):
        return [self.addr(k) for k in range(1, self.n + 1)]

    def launch(self, node):
        """Command prefix that starts a node's process in its namespace (for
        lib.Cluster(launch=...)); `ip netns exec` execs, so the pid is the node's."""
        return ["ip", "netns", "exec", self.ns(node.id)]

    def _build(self):
        for k in range(1, self.n + 1):
            _run("ip", "netns", "add", self.ns(k))
            self.made.append(self.ns(k))
            _run("ip", "-n", self.ns(k), "link", "set", "lo", "up")
        self.home_fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        _setns(f"/run/netns/{self.hub}")
        self.moved = True
        self.switch = subprocess.Popen(
            [sys.executable, SWITCH, self.prefix, SUBNET,
             *map(str, range(1, self.n + 1)), "254"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.switch.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"netswitch did not start (exit {self.switch.poll()})")

    def _ask(self, cmd):
        self.switch.stdin.write(cmd + "\n")
        self.switch.stdin.flush()
        answer = self.switch.stdout.readline().strip()
        if answer.startswith("error") or not answer:
            raise RuntimeError(f"netswitch {cmd!r}: {answer or 'no answer'}")
        return answer

    # ---- faults -------------------------------------------------------------
    def cut(self, k):
        self._ask(f"set {k} cut=1")

    def heal(self, k):
        self._ask(f"set {k}")

    def shape(self, k, delay=0, loss=0, jitter=0, reorder=0):
        """Node k's link, both directions: delay and jitter in ms, loss and
        reorder in percent of packets."""
        self._ask(f"set {k} delay={delay} jitter={jitter} loss={loss} reorder={reorder}")

    def unshape(self, k):
        self._ask(f"set {k}")

    def stale(self, k):
        """Every TCP connection of node k open so far is black-holed for good
        (no reset, no error); connections opened later pass."""
        self._ask(f"stale {k}")

    def stats(self):
        return json.loads(self._ask("stats"))

    @contextlib.contextmanager
    def inside(self, k):
        """Runs the block on this thread from node k's namespace, then back to the hub."""
        _setns(f"/run/netns/{self.ns(k)}")
        try:
            yield
        finally:
            _setns(f"/run/netns/{self.hub}")

    # ---- teardown -----------------------------------------------------------
    def close(self):
        if self.moved and self.home_fd is not None:
            if _libc.setns(self.home_fd, CLONE_NEWNET) == 0:
                self.moved = False
        if self.home_fd is not None:
            os.close(self.home_fd)
            self.home_fd = None
        if self.switch is not None:
            try:
                self.switch.stdin.close()
                self.switch.wait(10)
            except Exception:
                self.switch.kill()
                self.switch.wait(5)
            self.switch = None
        for ns in reversed(self.made):
            _run("ip", "netns", "del", ns, check=False)
        self.made = []

    def leftovers(self):
        """Namespaces of this run still present (for the test's own check)."""
        out = _run("ip", "netns", "list", check=False).stdout
        return [line.split()[0] for line in out.splitlines()
                if line.startswith(self.prefix + "-")]


def run(test, name, body, n=3):
    """The frame of a cluster test in namespaces: n nodes started, each in its
    own (cluster `name`), body(cluster, net) run, then every node stopped and
    "`test`: OK" printed; on a failure the nodes' logs. Always: the processes
    ended, the namespaces deleted and none left behind. Returns 0."""
    lib.require_built()
    net = Net(n)
    c = None
    try:
        c = lib.Cluster(n, name=name, hosts=net.hosts(), launch=net.launch)
        c.start_all()
        body(c, net)
        for nd in c.nodes:
            nd.stop()
        print(f"{test}: OK")
        return 0
    except Exception:
        if c:
            c.dump_logs()
        raise
    finally:
        if c:
            c.shutdown()
        net.close()
        left = net.leftovers()
        assert not left, f"namespaces left behind: {left}"
