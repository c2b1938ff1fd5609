"""Dashboard access follows the ledger: a session is signed for by a key the
ledger names as a current brand key, and a revocation or rotation committed to
the ledger ends it at once; plus the gateway's own HTTPS.

One node, two brands (acme, beta) and a carrier in genesis, sessions of 5 s:
- acme's and beta's keys sign in (`provena dashboard login`); the carrier's key,
  an unregistered key, and a bad body are refused with their codes;
- a session token with a prefix, one more character, one character changed,
  and empty is refused (401); the exact token works as Bearer and as cookie;
  the login form turns it into an HttpOnly, SameSite=Strict cookie; ?token= in
  a URL is refused (400) and no token ever appears in the node's log;
- beta rotates its key: beta's session and its old key are refused at once,
  the new key signs in;
- acme revokes itself: acme's session and key are refused at once;
- a session past its lifetime is refused (session_expired);
- a node started with --tls-cert/--tls-key serves HTTPS that curl --cacert
  verifies, refuses a client that does not trust the certificate, and serves
  a dashboard login over it (PROVENA_CACERT) with a Secure cookie.
"""

import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import scaled, wait_for  # noqa: E402

TTL = 5


def raw_request(nd, method, path, body=None, headers=None):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", nd.http_port, timeout=scaled(20))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        conn.close()


def code_of(body):
    try:
        return json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def cli(*args, env_extra=None):
    env = dict(os.environ)
    env.pop("PROVENA_KEY", None)
    env.pop("PROVENA_NODE", None)
    env.update(env_extra or {})
    p = subprocess.run([os.path.join(lib.BUILD, "provena"), *map(str, args)], capture_output=True,
                       text=True, env=env, timeout=scaled(120))
    return p.returncode, p.stdout, p.stderr


def check_sessions(c, nd, keys):
    analytics = "/api/v1/analytics"
    st, doc = nd.get(analytics)
    assert st == 401 and doc["error"]["code"] == "unauthorized", (st, doc)

    rc, acme, err = nd.dashboard_login(c.brand_key)
    assert rc == 0 and len(acme) == 64, (rc, acme, err)
    rc, beta, err = nd.dashboard_login(keys["beta"])
    assert rc == 0 and len(beta) == 64, (rc, beta, err)
    assert "as beta" in err, err
    st, doc = nd.get(analytics, acme)
    assert st == 200 and "totals" in doc, (st, doc)
    print("ok: acme's and beta's brand keys sign in; their sessions open the analytics")

    rc, out, err = nd.dashboard_login(keys["truck"])
    assert rc == 1 and "the dashboard is for brand keys" in err and out == "", (rc, out, err)
    rc, out, err = nd.dashboard_login(keys["stranger"])
    assert rc == 1 and "not a current participant key" in err, (rc, out, err)
    st, _, body = raw_request(nd, "POST", "/api/v1/dashboard/session", b'{"challenge":"00"}',
                              {"Content-Type": "application/json"})
    assert st == 400 and code_of(body) == "bad_request", (st, body)
    st, _, body = raw_request(nd, "POST", "/api/v1/dashboard/challenge")
    ch = json.loads(body)["challenge"]
    forged = json.dumps({"challenge": ch, "key": "11" * 32, "sig": "22" * 64}).encode()
    st, _, body = raw_request(nd, "POST", "/api/v1/dashboard/session", forged,
                              {"Content-Type": "application/json"})
    assert st == 401 and code_of(body) == "bad_signature", (st, body)
    st, _, body = raw_request(nd, "POST", "/api/v1/dashboard/session", forged,
                              {"Content-Type": "application/json"})
    assert st == 401 and code_of(body) == "unknown_challenge", (st, body)
    print("ok: a carrier key (403), an unknown key (403), a bad body (400), a bad signature "
          "(401) and a used challenge (401) are refused")

    # the session token is a secret: every near miss is refused, as Bearer and as cookie
    wrong = {"prefix": acme[:-1], "longer": acme + "0",
             "same length": acme[:-1] + ("0" if acme[-1] != "0" else "1"), "empty": ""}
    for what, tok in wrong.items():
        st, _, body = raw_request(nd, "GET", analytics,
                                  headers={"Authorization": "Bearer " + tok})
        assert st == 401 and code_of(body) == "unauthorized", ("Bearer", what, st, body)
        st, _, body = raw_request(nd, "GET", analytics,
                                  headers={"Cookie": "provena_session=" + tok})
        assert st == 401 and code_of(body) == "unauthorized", ("cookie", what, st, body)
    st, _, body = raw_request(nd, "GET", analytics, headers={"Cookie": "a=b; provena_session="
                                                             + acme})
    assert st == 200, (st, body)
    st, doc = nd.get(f"{analytics}?token={acme}")
    assert st == 400 and doc["error"]["code"] == "bad_request", (st, doc)
    print("ok: session token: prefix, longer, same-length wrong and empty 401 (Bearer and "
          "cookie); exact 200; in the URL 400")

    st, hdrs, body = raw_request(nd, "POST", "/dashboard/login",
                                 ("session=" + acme).encode(),
                                 {"Content-Type": "application/x-www-form-urlencoded"})
    cookie = dict((k.lower(), v) for k, v in hdrs).get("set-cookie", "")
    loc = dict((k.lower(), v) for k, v in hdrs).get("location", "")
    assert st == 303 and loc == "/dashboard", (st, hdrs, body)
    assert cookie.startswith("provena_session=" + acme + ";") and "HttpOnly" in cookie and \
        "SameSite=Strict" in cookie and "Secure" not in cookie, cookie
    st, _, page = raw_request(nd, "GET", "/dashboard", headers={"Cookie": cookie.split(";")[0]})
    assert st == 200 and b"Provena dashboard" in page, (st, page[:200])
    st, _, body = raw_request(nd, "POST", "/dashboard/login", b"session=" + b"0" * 64,
                              {"Content-Type": "application/x-www-form-urlencoded"})
    assert st == 401, (st, body)
    st, _, page = raw_request(nd, "GET", "/dashboard/login")
    assert st == 200 and b"<form" in page and b"provena dashboard login" in page, (st, page)
    print("ok: the login form sets an HttpOnly SameSite=Strict cookie and redirects to the "
          "dashboard; an unknown session is refused there")

    # rotation: beta's new key in the ledger ends its old key's session at once
    rc, out, err = lib.run_cli("participant", "rotate", "beta", "--pub", keys["beta2.pub"],
                               "--key", keys["beta"], "--node", nd.http)
    assert rc == 0, (rc, out, err)
    st, doc = nd.get(analytics, beta)
    assert st == 403 and "rotated away" in doc["error"]["message"], (st, doc)
    st, doc = nd.get(analytics, beta)
    assert st == 401, ("an ended session stays ended", st, doc)
    rc, out, err = nd.dashboard_login(keys["beta"])
    assert rc == 1 and "not a current participant key" in err, (rc, out, err)
    rc, beta2, err = nd.dashboard_login(keys["beta2"])
    assert rc == 0 and len(beta2) == 64, (rc, beta2, err)
    print("ok: after participant.rotate beta's old session (403) and old key (403) are "
          "refused; the new key signs in")

    # revocation: acme revokes itself; its session ends on the next request
    rc, out, err = lib.run_cli("participant", "revoke", "acme", "--key", c.brand_key,
                               "--node", nd.http)
    assert rc == 0, (rc, out, err)
    st, doc = nd.get(analytics, acme)
    assert st == 403 and "revoked" in doc["error"]["message"], (st, doc)
    rc, out, err = nd.dashboard_login(c.brand_key)
    assert rc == 1 and "revoked" in err, (rc, out, err)
    print("ok: after participant.revoke acme's session (403) and key (403) are refused")

    # expiry
    st, doc = nd.get(analytics, beta2)
    assert st == 200, (st, doc)

    def expired():
        st, doc = nd.get(analytics, beta2)
        return st == 401 and doc["error"]["code"] == "session_expired"
    wait_for(expired, scaled(TTL + 30), "beta2's session to expire", interval=0.5)
    print(f"ok: a session is refused (session_expired) once its {TTL} s have passed")

    log = nd.log_text()
    for tok in (acme, beta, beta2):
        assert tok not in log, "a session token in the node's log"


def check_tls(c):
    if not shutil.which("openssl") or not shutil.which("curl"):
        return "openssl or curl missing"
    d = os.path.join(c.dir, "tls")
    os.makedirs(d)
    crt, key = os.path.join(d, "gw.crt"), os.path.join(d, "gw.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt, "-days",
                    "30", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    raft, http = lib.free_ports(2)
    nd = c.nodes[0]
    g2 = os.path.join(d, "genesis.json")
    with open(c.genesis) as f:
        doc = json.load(f)
    doc["chain"] = "test-dash-tls"
    doc["nodes"][0]["raft"] = f"tcp://127.0.0.1:{raft}"
    doc["nodes"][0]["http"] = f"https://127.0.0.1:{http}"
    with open(g2, "w") as f:
        json.dump(doc, f)
    base = f"https://127.0.0.1:{http}"
    log = open(os.path.join(d, "node.log"), "ab")
    args = [lib.NODE_BIN, "--genesis", g2, "--id", "1", "--data", os.path.join(d, "data"),
            "--key", nd.key, "--insecure-plaintext"]
    # the key file must not be readable by others, and the address must say https
    os.chmod(key, 0o644)
    p = subprocess.run(args + ["--tls-cert", crt, "--tls-key", key], capture_output=True,
                       text=True, timeout=scaled(30))
    assert p.returncode == 2 and "chmod 600" in p.stderr, (p.returncode, p.stderr)
    os.chmod(key, 0o600)
    p = subprocess.run(args + ["--tls-cert", crt], capture_output=True, text=True,
                       timeout=scaled(30))
    assert p.returncode == 2 and "needs --tls-cert and --tls-key" in p.stderr, p.stderr
    p = subprocess.run(args + ["--tls-cert", crt, "--tls-key", key, "--http",
                               f"http://127.0.0.1:{http}"], capture_output=True, text=True,
                       timeout=scaled(30))
    assert p.returncode == 1 and "says plain http://" in p.stderr, p.stderr
    print("ok: a group-readable --tls-key (2), a cert without key (2) and TLS on an http:// "
          "address (1) are refused")

    proc = subprocess.Popen(args + ["--tls-cert", crt, "--tls-key", key], stdout=log,
                            stderr=log, stdin=subprocess.DEVNULL)
    try:
        def status():
            r = subprocess.run(["curl", "-s", "--cacert", crt, base + "/api/v1/status"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                return None
            doc = json.loads(r.stdout)
            return doc if doc.get("role") == "leader" else None
        doc = wait_for(status, scaled(30), "the TLS node to lead, seen over HTTPS")
        assert doc["id"] == 1, doc
        r = subprocess.run(["curl", "-s", base + "/api/v1/status"], capture_output=True)
        assert r.returncode == 60, ("curl without the CA must fail verification", r.returncode)
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                            f"http://127.0.0.1:{http}/api/v1/status"], capture_output=True,
                           text=True)
        assert r.stdout != "200", ("plain HTTP on the TLS port", r.stdout)
        r = subprocess.run(["curl", "-s", "--cacert", crt, "--tlsv1.1", "--tls-max", "1.1",
                            base + "/api/v1/status"], capture_output=True)
        assert r.returncode != 0, "TLS 1.1 must be refused"
        print("ok: curl --cacert gets /api/v1/status over HTTPS; without the CA it fails "
              "verification (60); plain HTTP and TLS 1.1 get nothing")
        rc, out, err = cli("dashboard", "login", "--node", base, "--key", c.brand_key,
                           env_extra={"PROVENA_CACERT": crt})
        assert rc == 0 and len(out.strip()) == 64, (rc, out, err)
        tok = out.strip()
        r = subprocess.run(["curl", "-s", "-i", "--cacert", crt, "-d", "session=" + tok,
                            base + "/dashboard/login"], capture_output=True, text=True)
        assert "HttpOnly; SameSite=Strict; Secure" in r.stdout, r.stdout
        r = subprocess.run(["curl", "-s", "--cacert", crt, "-H", "Authorization: Bearer " + tok,
                            base + "/api/v1/analytics"], capture_output=True, text=True)
        assert r.returncode == 0 and "totals" in r.stdout, r.stdout
        rc, out, err = cli("dashboard", "login", "--node", base, "--key", c.brand_key)
        assert rc == 1, ("a login to an untrusted certificate must fail", rc, out, err)
        print("ok: provena dashboard login over HTTPS (PROVENA_CACERT); the cookie is Secure; "
              "without the CA the CLI refuses the node")
    finally:
        proc.terminate()
        assert proc.wait(scaled(30)) == 0
        log.close()
    return None


def main():
    lib.require_built()
    c = lib.Cluster(1, name="dash", node_args=["--session-ttl", str(TTL)])
    keys = {}
    for k in ("beta", "beta2", "truck", "stranger"):
        keys[k] = os.path.join(c.dir, k + ".key")
        keys[k + ".pub"] = lib.txtool("key", keys[k])[0][0]
    with open(c.genesis) as f:
        doc = json.load(f)
    doc["brands"].append({"id": "beta", "name": "Beta", "pub": keys["beta.pub"],
                          "prefixes": ["9507000"]})
    doc["participants"].append({"id": "truck", "name": "Truck", "role": "carrier",
                                "pub": keys["truck.pub"]})
    with open(c.genesis, "w") as f:
        json.dump(doc, f, indent=1)
    nd = c.nodes[0]
    try:
        nd.start()
        c.leader()
        check_sessions(c, nd, keys)
        nd.stop()
        why = check_tls(c)
        if why:
            print(f"SKIPPED: HTTPS part: {why}")
            return 77
        print("test_dashboard_auth: OK")
        return 0
    except Exception:
        c.dump_logs()
        raise
    finally:
        c.shutdown()


if __name__ == "__main__":
    sys.exit(main())
