#!/usr/bin/env python3
"""Engine API conformance client in plain Python, standard library only.

Proves the Engine API is usable from any language: it mints its own HS256 JWT from the node's hex
secret, calls engine_echoV1, sends a batch (with a notification inside), reads an engine_echoStreamV1
stream by parsing the server-sent events itself, and checks that a token signed with a wrong secret
is refused. Prints one JSON summary on stdout.

Usage: client.py URL SECRET_HEX    (URL like http://127.0.0.1:8645)
"""

import base64
import hashlib
import hmac
import http.client
import json
import sys
import time

ECHO_PAYLOAD = "héllo from python ✓"
STREAM_COUNT = 5
STREAM_PAYLOAD = "py"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_token(secret: bytes, subject: str = "python", lifetime_s: int = 60) -> str:
    """An HS256 JWT with sub, iat and exp, as the node's verifier requires."""
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    payload = {"sub": subject, "iat": now, "exp": now + lifetime_s}
    signing_input = ".".join(
        b64url(json.dumps(part, separators=(",", ":")).encode("utf-8")) for part in (header, payload)
    )
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def split_url(url: str) -> tuple:
    rest = url.split("://", 1)[1] if "://" in url else url
    hostport = rest.split("/", 1)[0]
    host, _, port = hostport.rpartition(":")
    return host.strip("[]"), int(port)


class Engine:
    def __init__(self, url: str, token: str):
        self.host, self.port = split_url(url)
        self.token = token
        self.next_id = 1

    def post(self, body):
        """POSTs a JSON body to /rpc; returns (connection, response) so streams can be read on."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        data = json.dumps(body).encode("utf-8")
        conn.request(
            "POST",
            "/rpc",
            body=data,
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.token}",
            },
        )
        return conn, conn.getresponse()

    def request(self, method: str, params: dict, notification: bool = False) -> dict:
        req = {"jsonrpc": "2.0", "method": method, "params": params}
        if not notification:
            req["id"] = self.next_id
            self.next_id += 1
        return req

    def call_raw(self, body):
        conn, res = self.post(body)
        try:
            raw = res.read()
            return res.status, (json.loads(raw) if raw else None)
        finally:
            conn.close()

    def stream(self, method: str, params: dict) -> dict:
        conn, res = self.post(self.request(method, params))
        try:
            out = {
                "status": res.status,
                "contentType": res.getheader("Content-Type"),
                "streamId": res.getheader("X-Stream-Id"),
                "start": None,
                "events": [],
                "end": None,
            }
            event, data = "message", []
            while True:
                line = res.readline()
                if not line:
                    break  # connection closed
                text = line.decode("utf-8").rstrip("\r\n")
                if text == "":
                    if data:
                        value = json.loads("\n".join(data))
                        if event == "start":
                            out["start"] = value
                        elif event == "data":
                            out["events"].append(value)
                        elif event == "end":
                            out["end"] = value
                            break
                    event, data = "message", []
                elif text.startswith(":"):
                    continue  # comment
                elif text.startswith("event:"):
                    event = text[6:].lstrip(" ")
                elif text.startswith("data:"):
                    value = text[5:]
                    data.append(value[1:] if value.startswith(" ") else value)
            return out
        finally:
            conn.close()


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    url, secret_hex = sys.argv[1], sys.argv[2].strip()
    secret = bytes.fromhex(secret_hex[2:] if secret_hex.startswith("0x") else secret_hex)
    engine = Engine(url, mint_token(secret))
    summary = {"python": sys.version.split()[0]}

    status, res = engine.call_raw(engine.request("engine_echoV1", {"payload": ECHO_PAYLOAD}))
    summary["echo"] = {"status": status, "sent": ECHO_PAYLOAD, "response": res}

    batch = [
        engine.request("engine_echoV1", {"payload": "first"}),
        engine.request("engine_nopeV1", {}),
        engine.request("engine_echoV1", {"payload": "note"}, notification=True),
        engine.request("engine_echoV1", {"payload": 42}),
    ]
    status, res = engine.call_raw(batch)
    summary["batch"] = {
        "status": status,
        "sentIds": [r["id"] for r in batch if "id" in r],
        "responses": res,
    }

    status, res = engine.call_raw(engine.request("engine_echoV1", {"payload": "x"}, notification=True))
    summary["notification"] = {"status": status, "body": res}

    summary["stream"] = engine.stream(
        "engine_echoStreamV1", {"payload": STREAM_PAYLOAD, "count": STREAM_COUNT}
    )
    summary["stream"]["count"] = STREAM_COUNT

    intruder = Engine(url, mint_token(bytes(32), subject="intruder"))
    status, res = intruder.call_raw(intruder.request("engine_echoV1", {"payload": "let me in"}))
    summary["wrongSecret"] = {"status": status, "response": res}

    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
