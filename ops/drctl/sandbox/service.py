"""The platform's critical path in one small HTTP service per sandbox region (its own process, so a drill can
SIGKILL it with its database).

- `GET /healthz`: 200 when the region's database answers (writer or standby: Route53's check asks whether the
  region serves, not who writes), 503 otherwise. `{"region", "read_only"}`.
- `POST /v1/orders` `{"order_id", "amount_cents"}` and `POST /v1/heartbeats` `{"seq", "sent_at"}`: one INSERT
  through the region's database, 201 once committed; 503 `{"error": "read-only"}` when that database refuses
  writes (a standby, or a writer fenced for a switchover), 503 `{"error": "database"}` when it does not answer.
- `GET /api/v1/auth/health`, `/api/v1/payments/health`: the smoke checks' critical paths (same as /healthz).

Run: `python -m ops.drctl.sandbox.service --region us-east-1 --port 8081 --dsn "host=127.0.0.1 port=5432 ..."`.
"""
from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
from psycopg import errors

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    order_id text PRIMARY KEY,
    amount_cents integer NOT NULL,
    region text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS heartbeats (
    seq bigint PRIMARY KEY,
    sent_at double precision NOT NULL,
    region text NOT NULL,
    written_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
"""
HEALTH_PATHS = ("/healthz", "/api/v1/auth/health", "/api/v1/payments/health")
WRITES = {
    "/v1/orders": ("INSERT INTO orders (order_id, amount_cents, region) VALUES (%s, %s, %s)",
                   ("order_id", "amount_cents")),
    "/v1/heartbeats": ("INSERT INTO heartbeats (seq, sent_at, region) VALUES (%s, %s, %s)", ("seq", "sent_at")),
}


class Service(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, region: str, dsn: str) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.region, self.dsn = region, dsn
        self.local = threading.local()

    def connection(self) -> psycopg.Connection:
        conn = getattr(self.local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=1)
            self.local.conn = conn
        return conn

    def drop_connection(self) -> None:
        conn = getattr(self.local, "conn", None)
        self.local.conn = None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass


class Handler(BaseHTTPRequestHandler):
    server: Service
    protocol_version = "HTTP/1.1"  # keep-alive: the probes reuse connections

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps({"region": self.server.region, **body}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        if self.path not in HEALTH_PATHS:
            return self._answer(404, {"error": "not found"})
        try:
            row = self.server.connection().execute("SELECT pg_is_in_recovery()").fetchone()
        except psycopg.Error as exc:
            self.server.drop_connection()
            return self._answer(503, {"error": "database", "detail": str(exc).strip()[:200]})
        return self._answer(200, {"read_only": bool(row and row[0])})

    def do_POST(self) -> None:  # noqa: N802
        if self.path not in WRITES:
            return self._answer(404, {"error": "not found"})
        sql, fields = WRITES[self.path]
        try:
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            values = [payload[f] for f in fields]
        except (ValueError, KeyError) as exc:
            return self._answer(400, {"error": f"bad request: {exc}"})
        try:
            self.server.connection().execute(sql, (*values, self.server.region))
        except (errors.ReadOnlySqlTransaction, errors.AdminShutdown) as exc:
            self.server.drop_connection()
            return self._answer(503, {"error": "read-only", "detail": str(exc).strip()[:200]})
        except errors.UniqueViolation:
            return self._answer(409, {"error": "duplicate"})
        except psycopg.Error as exc:
            self.server.drop_connection()
            return self._answer(503, {"error": "database", "detail": str(exc).strip()[:200]})
        return self._answer(201, {"written": True})

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--region", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True)
    args = parser.parse_args()
    server = Service(args.port, args.region, args.dsn)
    print("ready", flush=True)
    server.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main()
