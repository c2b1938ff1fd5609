"""CLI_RESP_MAX: the CLI reads an answer of exactly 64 MiB and refuses one byte more.

A small HTTP server stands in for a node and answers `GET /api/v1/tx/ID` with a
receipt padded to exactly CLI_RESP_MAX bytes, then to CLI_RESP_MAX + 1:
`provena tx status ID` reads the first (exit 0, the receipt printed) and gives
up on the second without reading it whole (exit 3, "answer larger than").
"""

import http.server
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

CLI_RESP_MAX = 64 << 20  # cli/cli.h
TXID = "ab" * 32


def padded(size):
    head = json.dumps({"receipt": {"tx": TXID, "status": "accepted", "code": "ok",
                                   "height": 7, "index": 0}, "pad": ""}).encode()
    assert head.endswith(b'""}')
    fill = size - len(head)
    return head[:-2] + b"x" * fill + b'"}'


class Server:
    def __init__(self):
        self.body = b""
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                try:
                    self.wfile.write(outer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading: what the limit is for

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def main():
    if not os.path.exists(os.path.join(lib.BUILD, "provena")):
        lib.skip("provena not built")
    srv = Server()
    try:
        srv.body = padded(CLI_RESP_MAX)
        assert len(srv.body) == CLI_RESP_MAX
        rc, out, err = lib.run_cli("tx", "status", TXID, "--node", srv.url, "--json", timeout=120)
        assert rc == 0, (rc, out[-500:], err[-500:])
        assert json.loads(out)["status"] == "accepted", out[-500:]
        print(f"ok: an answer of exactly {CLI_RESP_MAX} bytes read, the receipt printed")
        srv.body = padded(CLI_RESP_MAX + 1)
        rc, out, err = lib.run_cli("tx", "status", TXID, "--node", srv.url, timeout=120)
        assert rc == 3, (rc, out[-500:], err[-500:])
        assert f"answer larger than {CLI_RESP_MAX} bytes" in out + err, (out, err)
        print(f"ok: {CLI_RESP_MAX + 1} bytes refused: {out.strip()[-120:]}")
    finally:
        srv.close()
    print("test_cli_resp_limit: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
