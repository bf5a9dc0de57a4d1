"""Smoke checks: HTTP GETs of the critical paths, each bounded by a timeout (seed 004 §4 step 6, seed 000
ops/dr/checks/smoke.sh). Healthy means a 2xx answer in time."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

import requests

DEFAULT_PATHS = ("/healthz", "/api/v1/auth/health", "/api/v1/payments/health")


@dataclass(frozen=True)
class SmokeResult:
    url: str
    ok: bool
    status: int | None
    seconds: float
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def validate_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--base-url {base_url!r}: expected http(s)://host[:port]")
    return base_url.rstrip("/")


def validate_paths(paths: list[str]) -> list[str]:
    for path in paths:
        if not path.startswith("/"):
            raise ValueError(f"--path {path!r} must start with '/'")
    return paths


def check(url: str, timeout_s: float) -> SmokeResult:
    started = time.monotonic()
    try:
        response = requests.get(url, timeout=timeout_s, allow_redirects=False)
    except requests.RequestException as exc:
        return SmokeResult(url, False, None, round(time.monotonic() - started, 3), f"{type(exc).__name__}: {exc}")
    return SmokeResult(url, 200 <= response.status_code < 300, response.status_code,
                       round(time.monotonic() - started, 3))


def run_checks(base_url: str, paths: list[str], timeout_s: float) -> list[SmokeResult]:
    base = validate_base_url(base_url)
    return [check(f"{base}{path}", timeout_s) for path in validate_paths(paths)]
