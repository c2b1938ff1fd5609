"""Helpers for cluster tests: real provena-node processes on 127.0.0.1.

A Cluster makes a work directory with fresh keys (brand, one per node), a
genesis document naming N nodes on free ports, and starts/stops/kills nodes.
Every process it starts is killed when the Python process exits, even on a
failed assertion (atexit), and each node's stderr goes to DIR/nodeN.log, whose
tail is printed when a test fails.

Transactions are signed by tests/cluster/txtool (built next to the tests):
each line it prints is "<tx id hex> <CBOR hex or JSON>".

Environment: PROVENA_BUILD (build dir, default ./build), PROVENA_SRC (source
dir), PROVENA_TIME_SCALE (multiplies every timeout; set it under ASan).
"""

import atexit
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(os.environ.get("PROVENA_BUILD", "build"))
SRC = os.path.abspath(os.environ.get("PROVENA_SRC", "."))
NODE_BIN = os.path.join(BUILD, "provena-node")
TXTOOL = os.path.join(BUILD, "tests", "cluster", "txtool")


def _cache_has(entry):
    try:
        with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
            return entry in f.read()
    except OSError:
        return False


def _sanitized():
    """True when the build tree is an ASan or a TSan build (slower: scale timeouts)."""
    return _cache_has("PROVENA_SANITIZE:BOOL=ON") or _cache_has("PROVENA_TSAN:BOOL=ON")


SCALE = float(os.environ.get("PROVENA_TIME_SCALE", "3" if _sanitized() else "1"))

BRAND_PREFIX = "9506000"
GTIN = "09506000123455"  # indicator 0 + prefix + item 12345 + check digit

_live = []  # every Popen started, for the exit handler

SKIP = 77  # exit status ctest reports as "Skipped" (SKIP_RETURN_CODE in tests/CMakeLists.txt)


def skip(why):
    """Ends a test that cannot run: ctest shows it as skipped, never as passed."""
    print(f"SKIPPED: {why}")
    sys.exit(SKIP)


def submit_each(node, txs):
    """Submits each (txid, cbor hex) to node, each answered accepted; returns the ids."""
    acked = []
    for txid, hexcbor in txs:
        st, doc = node.submit_cbor(hexcbor)
        assert st == 200 and isinstance(doc, dict) and doc.get("status") == "accepted", \
            f"tx {txid} to node {node.id}: {st} {doc!r}"
        acked.append(txid)
    return acked


def require_built():
    """Skips (exit 77) unless provena-node and txtool are built."""
    for path in (NODE_BIN, TXTOOL):
        if not os.path.exists(path):
            skip(f"{path} not built (cmake --build {BUILD})")


def _end(p, grace):
    """SIGTERM, then SIGKILL after `grace` seconds: a node stopped cleanly writes
    its coverage counters (make coverage); one that hangs is still ended."""
    if p.poll() is not None:
        return
    try:
        p.terminate()
        p.wait(grace)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(5)
    except Exception:
        pass


def _kill_all():
    for p in _live:
        _end(p, 5)


# Under ThreadSanitizer every process this test starts (nodes, txtool, the CLI)
# writes its reports to files of its own in _TSAN_DIR (log_path; a node's log
# keeps only its own lines). A report fails the test even when the process went
# on (halt_on_error=0) or was killed by the test afterwards: after every process
# has ended, the reports are printed and the test exits 66, TSan's own status.
_TSAN_DIR = None
if _cache_has("PROVENA_TSAN:BOOL=ON"):
    _TSAN_DIR = tempfile.mkdtemp(prefix="provena-tsan-")
    os.environ["TSAN_OPTIONS"] = (os.environ.get("TSAN_OPTIONS", "")
                                  + f" log_path={_TSAN_DIR}/report").strip()


def _tsan_reports():
    if _TSAN_DIR is None:
        return
    found = []
    for name in sorted(os.listdir(_TSAN_DIR)):
        with open(os.path.join(_TSAN_DIR, name), errors="replace") as f:
            text = f.read()
        if "ThreadSanitizer" in text:
            found.append(f"---- {name} ----\n{text}")
    shutil.rmtree(_TSAN_DIR, ignore_errors=True)
    if found:
        sys.stderr.write("ThreadSanitizer reports from this test's processes:\n"
                         + "".join(found))
        sys.stderr.flush()
        os._exit(66)


# atexit runs handlers last-registered first: the processes end, then the reports are read.
atexit.register(_tsan_reports)
atexit.register(_kill_all)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def scaled(seconds):
    return seconds * SCALE


def free_ports(n):
    """n distinct TCP ports free on 127.0.0.1 right now."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def txtool(*args, json_form=False):
    env = dict(os.environ)
    if json_form:
        env["TXTOOL_JSON"] = "1"
    out = subprocess.run([TXTOOL, *map(str, args)], check=True, capture_output=True,
                         text=True, env=env, timeout=120).stdout
    return [tuple(line.split(" ", 1)) for line in out.splitlines() if line]


def run_cli(*args, timeout=300):
    """Runs build/provena with args and neither PROVENA_KEY nor PROVENA_NODE
    from the caller's environment (every test names its key and nodes):
    (returncode, stdout, stderr)."""
    env = dict(os.environ)
    env.pop("PROVENA_KEY", None)
    env.pop("PROVENA_NODE", None)
    p = subprocess.run([os.path.join(BUILD, "provena"), *map(str, args)], capture_output=True,
                       text=True, env=env, timeout=scaled(timeout))
    return p.returncode, p.stdout, p.stderr


def wait_for(pred, timeout, what, interval=0.05):
    """Polls pred() until it returns a true value; raises naming `what`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except (OSError, http.client.HTTPException, ValueError) as e:
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what} (last: {last!r})")


class Node:
    def __init__(self, cluster, nid, raft_port, http_port, key_path, pub, host="127.0.0.1"):
        self.cluster = cluster
        self.id = nid
        self.host = host  # the address both listeners bind and clients reach
        if cluster.raft_tls:
            # the node's TLS key file and the certificate the ledger pins for it
            self.tls_key = os.path.join(cluster.dir, f"node{nid}.tls")
            self.cert = txtool("tls-key", self.tls_key)[0][0]
            self.raft = f"tls+tcp://{host}:{raft_port}"
        else:
            self.tls_key = self.cert = None
            self.raft = f"tcp://{host}:{raft_port}"
        self.http_port = http_port
        self.tls = cluster.tls  # (cert, key) when the gateways serve HTTPS
        self.http = f"{'https' if self.tls else 'http'}://{host}:{http_port}"
        self.key = key_path
        self.pub = pub
        self.data = os.path.join(cluster.dir, f"node{nid}")
        self.log = os.path.join(cluster.dir, f"node{nid}.log")
        self.proc = None
        self.joined = False

    def link_args(self):
        """provena-node's options for its Raft links: its TLS key, or plaintext."""
        return ["--raft-tls", self.tls_key] if self.tls_key else ["--insecure-plaintext"]

    # ---- process ----------------------------------------------------------
    def start(self, extra=()):
        args = [*self.cluster.launch(self), NODE_BIN, "--genesis", self.cluster.genesis, "--id", str(self.id),
                "--data", self.data, "--key", self.key, "--log-level", "info",
                *self.link_args(), *self.cluster.node_args, *extra]
        if self.tls:
            args += ["--tls-cert", self.tls[0], "--tls-key", self.tls[1], "--peer-ca", self.tls[0]]
        if self.joined:
            args += ["--join", "--raft", self.raft, "--http", self.http]
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(args, stdout=logf, stderr=logf, stdin=subprocess.DEVNULL)
        logf.close()
        _live.append(self.proc)
        wait_for(self.serving, scaled(15), f"node {self.id} HTTP on {self.http}")

    def serving(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"node {self.id} exited with {self.proc.returncode}:\n"
                                 + self.log_tail())
        try:
            with socket.create_connection((self.host, self.http_port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self, timeout=None):
        """SIGTERM and wait: a clean stop exits 0."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            rc = self.proc.wait(timeout or scaled(30))
            assert rc == 0, f"node {self.id} stopped with status {rc}:\n{self.log_tail()}"
        self.proc = None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=40):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    # ---- HTTP ---------------------------------------------------------------
    def request(self, method, path, body=None, ctype=None, accept="application/json",
                timeout=None, headers=None):
        if self.tls:
            ctx = ssl.create_default_context(cafile=self.tls[0])
            conn = http.client.HTTPSConnection(self.host, self.http_port, context=ctx,
                                               timeout=timeout or scaled(20))
        else:
            conn = http.client.HTTPConnection(self.host, self.http_port,
                                              timeout=timeout or scaled(20))
        try:
            headers = {"Accept": accept, **(headers or {})}
            if ctype:
                headers["Content-Type"] = ctype
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            try:
                doc = json.loads(data) if data else None
            except ValueError:
                doc = data
            return resp.status, doc
        finally:
            conn.close()

    def get(self, path, session=None):
        """GET; with session, as "Authorization: Bearer <session>"."""
        return self.request("GET", path,
                            headers={"Authorization": "Bearer " + session} if session else None)

    def dashboard_login(self, key_path):
        """A dashboard session of this node for the key file (provena dashboard
        login): (exit code, session or "", stderr)."""
        rc, out, err = run_cli("dashboard", "login", "--node", self.http, "--key", key_path)
        return rc, out.strip(), err

    def submit_cbor(self, cbor_hex, wait=True):
        q = "" if wait else "?wait=0"
        return self.request("POST", "/api/v1/tx" + q, bytes.fromhex(cbor_hex),
                            "application/cbor")

    def submit_until_definite(self, cbor_hex, timeout):
        """Submits one tx, retrying the same bytes on other live nodes until a
        receipt says what happened (a retry is safe: a tx id commits once).
        Returns (status, receipt doc), or (None, None) when time ran out."""
        deadline = time.monotonic() + timeout
        k = self.id
        while time.monotonic() < deadline:
            targets = [nd for nd in self.cluster.nodes if nd.alive()]
            if not targets:
                time.sleep(0.1)
                continue
            nd = targets[k % len(targets)]
            k += 1
            try:
                st, doc = nd.submit_cbor(cbor_hex)
            except (OSError, http.client.HTTPException):
                time.sleep(0.05)
                continue
            if st in (200, 409, 422, 400):
                return st, doc
            time.sleep(0.05)  # 503 no leader / busy, 504 outcome unknown: again
        return None, None

    def submit_json(self, text, wait=True):
        q = "" if wait else "?wait=0"
        return self.request("POST", "/api/v1/tx" + q, text.encode(), "application/json")

    def status(self):
        st, doc = self.get("/api/v1/status")
        if st != 200 or not isinstance(doc, dict):
            raise ValueError(f"status {st}: {doc!r}")
        return doc

    def head(self):
        st, doc = self.get("/api/v1/head")
        if st != 200 or not isinstance(doc, dict):
            raise ValueError(f"head {st}: {doc!r}")
        return doc

    def has_tx(self, txid):
        st, doc = self.get(f"/api/v1/tx/{txid}")
        if st == 200:
            return doc
        if st == 404:
            return None
        raise ValueError(f"GET tx {txid}: {st} {doc!r}")


def role_of(status):
    return status.get("role")


def leader_of(status):
    v = status.get("leader", status.get("leader_id"))
    if isinstance(v, dict):
        v = v.get("id")
    return v or 0


def head_key(head):
    """What must match across nodes: height, block id and state digest."""
    h = head.get("head", head)
    return (h.get("height"), h.get("id", h.get("block_id", h.get("hash"))),
            h.get("state_digest"))


class Cluster:
    def __init__(self, n, name="cluster", node_args=(), tls=False, raft_tls=True,
                 genesis_extra=None, hosts=None, launch=None):
        """tls: every gateway serves HTTPS with one self-signed certificate for
        127.0.0.1 (openssl), which is also each node's --peer-ca.
        raft_tls: node-to-node links are mutual TLS with keys pinned in genesis
        (each node gets a TLS key file); False: plain tcp:// with
        --insecure-plaintext.
        genesis_extra: top-level genesis members to add (a dict, or a function
        of the cluster returning one).
        hosts: one address per node (each node alone on its host, e.g. in its
        own network namespace: tests/cluster/netns.py), with fixed ports;
        default every node on 127.0.0.1 on free ports.
        launch: a function of the Node returning the command prefix that
        starts its process (e.g. ["ip", "netns", "exec", NS]); default none."""
        self.dir = tempfile.mkdtemp(prefix=f"provena-{name}-")
        self.raft_tls = raft_tls
        self.tls = None
        if tls:
            crt, key = os.path.join(self.dir, "gw.crt"), os.path.join(self.dir, "gw.key")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
                            "-days", "30", "-subj", "/CN=127.0.0.1", "-addext",
                            "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
            os.chmod(key, 0o600)
            self.tls = (crt, key)
        self.node_args = list(node_args)
        self.brand_key = os.path.join(self.dir, "brand.key")
        self.brand_pub = txtool("key", self.brand_key)[0][0]
        self.launch = launch or (lambda nd: [])
        if hosts:
            ports = [7400, 8400] * (n + 1)  # every node alone on its address
        else:
            ports = free_ports(2 * (n + 1))  # one spare pair for a joining node
        self.spare_ports = ports[2 * n:]
        self.nodes = []
        for i in range(n):
            key = os.path.join(self.dir, f"node{i + 1}.key")
            pub = txtool("key", key)[0][0]
            self.nodes.append(Node(self, i + 1, ports[2 * i], ports[2 * i + 1], key, pub,
                                   **({"host": hosts[i]} if hosts else {})))
        self.genesis = os.path.join(self.dir, "genesis.json")
        doc = {
            "chain": f"test-{name}",
            "time": int(time.time()),
            "brands": [{"id": "acme", "name": "Acme Test", "pub": self.brand_pub,
                        "prefixes": [BRAND_PREFIX]}],
            "participants": [],
            "nodes": [dict({"id": nd.id, "operator": "acme", "raft": nd.raft, "http": nd.http,
                            "pub": nd.pub}, **({"tls": nd.cert} if nd.cert else {}))
                      for nd in self.nodes],
        }
        if genesis_extra:
            doc.update(genesis_extra(self) if callable(genesis_extra) else genesis_extra)
        with open(self.genesis, "w") as f:
            json.dump(doc, f, indent=1)
        self.nonce = 0  # last brand nonce handed out (fallback when no node answers)

    def next_nonces(self, count, nodes=None):
        """The brand's next nonce, as the most advanced live node (of `nodes`: a
        node cut off would not answer) sees it, reserving `count` in a row. Nonces
        must be contiguous (a gap is refused), so this asks the ledger instead of
        counting: transactions a test generated but never submitted leave no hole."""
        nexts = []
        for nd in (nodes if nodes is not None else self.alive()):
            try:
                st, doc = nd.get(f"/api/v1/nonce/{self.brand_pub}")
                if st == 200:
                    nexts.append(int(doc["next"]))
            except (OSError, ValueError, KeyError):
                pass
        first = max(nexts) if nexts else self.nonce + 1
        self.nonce = first + count - 1
        return first

    def mint(self, serials, lot="L1", json_form=False, nonce=None):
        """A signed mint; `nonce` given explicitly for a tx built before the
        previous one reached the ledger (a batch), else the ledger's next."""
        if nonce is None:
            nonce = self.next_nonces(1)
        else:
            self.nonce = max(self.nonce, nonce)
        return txtool("mint", self.genesis, self.brand_key, nonce, GTIN, lot, *serials,
                      json_form=json_form)[0]

    def mint_seq(self, count, prefix, lot="L1", nodes=None):
        nonce = self.next_nonces(count, nodes=nodes)
        return txtool("mint-seq", self.genesis, self.brand_key, nonce, count, GTIN, lot, prefix)

    def add_node(self):
        """A new Node (not yet started) and its signed node.add transaction."""
        nid = len(self.nodes) + 1
        key = os.path.join(self.dir, f"node{nid}.key")
        pub = txtool("key", key)[0][0]
        nd = Node(self, nid, self.spare_ports[0], self.spare_ports[1], key, pub)
        nd.joined = True
        self.nodes.append(nd)
        nonce = self.next_nonces(1)
        tx = txtool("node-add", self.genesis, self.brand_key, nonce, nid, "acme", nd.raft,
                    nd.http, pub, *([nd.cert] if nd.cert else []))[0]
        return nd, tx

    def start_all(self):
        for nd in self.nodes:
            if not nd.alive():
                nd.start()

    def alive(self):
        return [nd for nd in self.nodes if nd.alive()]

    def leader(self, nodes=None, timeout=None):
        """Waits until the live nodes agree on one leader that says it leads; returns it."""
        nodes = nodes or self.alive()

        def agreed():
            sts = {nd.id: nd.status() for nd in nodes}
            leaders = {leader_of(s) for s in sts.values()}
            if len(leaders) != 1 or 0 in leaders:
                return None
            lid = leaders.pop()
            ld = [nd for nd in nodes if nd.id == lid]
            if not ld or role_of(sts[lid]) != "leader":
                return None
            return ld[0]

        return wait_for(agreed, timeout or scaled(20), "one agreed leader")

    def wait_tx_everywhere(self, txids, nodes=None, timeout=None):
        nodes = nodes or self.alive()
        pending = {(nd.id, t) for nd in nodes for t in txids}
        byid = {nd.id: nd for nd in nodes}

        def check():
            for key in list(pending):
                if byid[key[0]].has_tx(key[1]):
                    pending.discard(key)
            return not pending

        try:
            wait_for(check, timeout or scaled(30), f"{len(txids)} txs on nodes {sorted(byid)}",
                     interval=0.2)
        except AssertionError as e:
            missing = sorted({n for n, _ in pending})
            raise AssertionError(f"{e}: {len(pending)} missing, on nodes {missing}") from None

    def wait_same_head(self, nodes=None, timeout=None):
        nodes = nodes or self.alive()

        def same():
            keys = {head_key(nd.head()) for nd in nodes}
            return keys.pop() if len(keys) == 1 else None

        return wait_for(same, timeout or scaled(30), "identical heads", interval=0.2)

    def shutdown(self, keep=False):
        """Ends every node still running (SIGTERM first, SIGKILL if it hangs)."""
        for nd in self.nodes:
            if nd.proc is not None:
                _end(nd.proc, scaled(10))
            nd.proc = None
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def dump_logs(self):
        for nd in self.nodes:
            rc = nd.proc.poll() if nd.proc else None
            state = ("running" if nd.proc and rc is None else
                     f"exited with {rc}" + (f" ({signal.Signals(-rc).name})" if rc and rc < 0 else "")
                     if nd.proc else "stopped by the test")
            sys.stderr.write(f"---- node {nd.id} log ({nd.log}), process {state} ----\n"
                             f"{nd.log_tail(60)}\n")
