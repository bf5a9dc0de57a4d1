"""A real loopback HTTP proxy in front of a real Typesense server that injects faults into import requests.

Not a fake of Typesense: every request it does not fault is forwarded unchanged and Typesense's own answer is
returned. It can answer HTTP 503 ("Not Ready or Lagging", Typesense's back-pressure) to the first K import
requests, and delay each import it forwards (to give a test time to kill a run mid-import).
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests


@dataclass
class Faults:
    fail_first_imports: int = 0
    import_delay_s: float = 0.0
    imports_seen: int = 0
    answered_503: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(upstream: str, faults: Faults, session: requests.Session) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if "/documents/import" in self.path:
                with faults.lock:
                    faults.imports_seen += 1
                    refuse = faults.answered_503 < faults.fail_first_imports
                    faults.answered_503 += refuse
                if refuse:
                    self._reply(503, b'{"message": "Not Ready or Lagging"}', "application/json")
                    return
                time.sleep(faults.import_delay_s)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            answer = session.request(self.command, upstream + self.path, data=body or None, headers=headers,
                                     timeout=120)
            self._reply(answer.status_code, answer.content, answer.headers.get("Content-Type", "text/plain"))

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

    return Handler


@contextlib.contextmanager
def fault_proxy(upstream: str, faults: Faults) -> Iterator[str]:
    """Serve on a free 127.0.0.1 port; yields the proxy's base URL; always shut down."""
    session = requests.Session()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream.rstrip("/"), faults, session))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fault-proxy", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        session.close()
