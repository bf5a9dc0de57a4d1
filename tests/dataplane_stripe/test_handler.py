"""The webhook handler on real localstripe events and real PostgreSQL: signature check in live mode (signed
by stripe-python's helper, and by localstripe's own webhook delivery over HTTP), replay mode, exactly once."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest
import requests
import stripe

from ops.drctl.dataplane import stripe_webhook
from ops.drctl.dataplane.stripe_webhook import SignatureRejected, handle_event
from ops.drctl.sandbox.stripe import local_stripe
from tests.dataplane_stripe.conftest import API_KEY, next_second

SECRET = "whsec_test_dr_platform"


@dataclass
class Events:
    url: str
    by_type: dict[str, list[dict[str, Any]]]

    def one(self, event_type: str) -> bytes:
        return json.dumps(self.by_type[event_type][0]).encode()


@pytest.fixture(scope="module")
def events() -> Iterator[Events]:
    with local_stripe() as url:
        client = stripe.StripeClient(API_KEY, base_addresses={"api": url}, max_network_retries=0)
        customer = client.v1.customers.create({"email": "old@example.test"})
        next_second()  # the update is a second newer than the creation
        client.v1.customers.update(customer.id, {"email": "new@example.test"})
        card = client.v1.payment_methods.create({"type": "card", "card": {
            "number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}})
        client.v1.payment_intents.create({"amount": 4200, "currency": "eur", "customer": customer.id,
                                          "payment_method": card.id, "confirm": True})
        by_type: dict[str, list[dict[str, Any]]] = {}
        for event in client.v1.events.list({"limit": 100}).data:
            by_type.setdefault(event.type, []).append(event.to_dict())
        yield Events(url, by_type)


@pytest.fixture
def schema(conn: psycopg.Connection) -> psycopg.Connection:
    stripe_webhook.apply_schema(conn)
    return conn


def _rows(conn: psycopg.Connection, table: str) -> list[tuple[Any, ...]]:
    return conn.execute(f"SELECT * FROM {table}").fetchall()


def test_live_mode_accepts_a_correctly_signed_payload(events: Events, schema: psycopg.Connection) -> None:
    payload = events.one("payment_intent.succeeded")
    header = stripe.WebhookSignature.generate_signature_header(payload.decode(), SECRET)
    result = handle_event(schema, payload, signature=header, secret=SECRET)
    assert (result.outcome, result.effect, result.replayed) == ("processed", "stripe_payments", False)
    assert schema.execute("SELECT replayed FROM stripe_processed_events").fetchall() == [(False,)]
    assert schema.execute("SELECT amount, currency, status FROM stripe_payments").fetchall() == \
        [(4200, "eur", "succeeded")]


@pytest.mark.parametrize("forgery", ["wrong_secret", "tampered_payload", "no_header", "stale_timestamp"])
def test_live_mode_rejects_a_bad_signature_and_changes_nothing(events: Events, schema: psycopg.Connection,
                                                               forgery: str) -> None:
    payload = events.one("payment_intent.succeeded")
    signed_with = "whsec_someone_else" if forgery == "wrong_secret" else SECRET
    timestamp = int(time.time()) - 3600 if forgery == "stale_timestamp" else None
    header = stripe.WebhookSignature.generate_signature_header(payload.decode(), signed_with, timestamp)
    if forgery == "tampered_payload":
        payload = payload.replace(b'"amount": 4200', b'"amount": 1')
        assert b'"amount": 1' in payload
    with pytest.raises(SignatureRejected):
        handle_event(schema, payload, signature=None if forgery == "no_header" else header, secret=SECRET)
    assert _rows(schema, "stripe_processed_events") == [] and _rows(schema, "stripe_payments") == []


def test_replay_mode_skips_the_check_and_records_replayed(events: Events, schema: psycopg.Connection) -> None:
    result = handle_event(schema, events.one("customer.created"), signature=None, secret=None, replayed=True)
    assert (result.outcome, result.effect, result.replayed) == ("processed", "stripe_customers", True)
    assert schema.execute("SELECT type, replayed FROM stripe_processed_events").fetchall() == \
        [("customer.created", True)]


def test_the_same_event_twice_applies_once(events: Events, schema: psycopg.Connection) -> None:
    payload = events.one("customer.created")
    first = handle_event(schema, payload, signature=None, secret=None, replayed=True)
    second = handle_event(schema, payload, signature=None, secret=None, replayed=True)
    assert (first.outcome, second.outcome) == ("processed", "already_processed")
    assert len(_rows(schema, "stripe_processed_events")) == 1 and len(_rows(schema, "stripe_customers")) == 1


def test_the_loser_of_a_race_waits_sees_the_conflict_and_applies_nothing(events: Events, database: str,
                                                                         schema: psycopg.Connection) -> None:
    payload = events.one("payment_intent.succeeded")
    with psycopg.connect(database) as winner:  # not autocommit: its transaction stays open until we commit
        winner.execute("SELECT 1")
        assert handle_event(winner, payload, signature=None, secret=None, replayed=True).outcome == "processed"
        written_by_winner = winner.execute("SELECT xmin::text FROM stripe_payments").fetchone()[0]
        outcome: list[str] = []

        def loser() -> None:
            with psycopg.connect(database, autocommit=True) as other:
                outcome.append(handle_event(other, payload, signature=None, secret=None, replayed=True).outcome)

        racer = threading.Thread(target=loser)
        racer.start()
        racer.join(0.5)
        assert racer.is_alive() and not outcome  # blocked on the winner's uncommitted event id
        winner.commit()
        racer.join(10)
    assert outcome == ["already_processed"]
    # the ledger row is still the one the winner wrote: the loser's transaction did not touch it
    assert schema.execute("SELECT xmin::text FROM stripe_payments").fetchone()[0] == written_by_winner


def test_a_failed_effect_leaves_the_event_unprocessed(events: Events, schema: psycopg.Connection) -> None:
    payload = events.one("payment_intent.succeeded")
    schema.execute("ALTER TABLE stripe_payments ADD CONSTRAINT refuse_all CHECK (amount < 0)")
    with pytest.raises(psycopg.errors.CheckViolation):
        handle_event(schema, payload, signature=None, secret=None, replayed=True)
    assert _rows(schema, "stripe_processed_events") == []  # so a later replay applies it
    schema.execute("ALTER TABLE stripe_payments DROP CONSTRAINT refuse_all")
    assert handle_event(schema, payload, signature=None, secret=None, replayed=True).outcome == "processed"


def test_an_older_event_arriving_late_leaves_the_newer_state(events: Events, schema: psycopg.Connection) -> None:
    handle_event(schema, events.one("customer.updated"), signature=None, secret=None, replayed=True)
    handle_event(schema, events.one("customer.created"), signature=None, secret=None, replayed=True)
    assert schema.execute("SELECT email FROM stripe_customers").fetchall() == [("new@example.test",)]
    assert len(_rows(schema, "stripe_processed_events")) == 2


def test_a_payload_that_is_not_an_event_is_refused(schema: psycopg.Connection) -> None:
    with pytest.raises(stripe_webhook.MalformedEvent):
        handle_event(schema, b'{"id": "evt_1"}', signature=None, secret=None, replayed=True)
    assert _rows(schema, "stripe_processed_events") == []


@pytest.fixture
def receiver(database: str, schema: psycopg.Connection) -> Iterator[tuple[str, dict[str, list[int]]]]:
    """The handler behind HTTP, as a live webhook endpoint: 200 when applied or already applied, 400 when the
    signature is refused. Yields its base URL and the statuses it answered, per path."""
    statuses: dict[str, list[int]] = {}

    class Endpoint(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                with psycopg.connect(database, autocommit=True) as c:
                    handle_event(c, body, signature=self.headers.get("Stripe-Signature"), secret=SECRET)
                status = 200
            except SignatureRejected:
                status = 400
            statuses.setdefault(self.path, []).append(status)
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", statuses
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_localstripe_deliveries_signed_by_it_are_verified(events: Events, receiver: tuple[str, dict[str, list[int]]],
                                                         schema: psycopg.Connection) -> None:
    """localstripe signs its webhook deliveries itself (its own HMAC code, not stripe-python's)."""
    endpoint, statuses = receiver
    for name, secret in (("good", SECRET), ("forged", "whsec_not_ours")):
        requests.post(f"{events.url}/_config/webhooks/{name}", timeout=5,
                      data={"url": f"{endpoint}/{name}", "secret": secret, "events[]": "customer.created"}
                      ).raise_for_status()
    client = stripe.StripeClient(API_KEY, base_addresses={"api": events.url}, max_network_retries=0)
    client.v1.customers.create({"email": "webhook@example.test"})
    deadline = time.monotonic() + 10  # localstripe waits 1 s before delivering
    while time.monotonic() < deadline and (len(statuses.get("/good", [])) < 1 or len(statuses.get("/forged", [])) < 1):
        time.sleep(0.1)
    assert statuses == {"/good": [200], "/forged": [400]}
    assert schema.execute("SELECT type, replayed FROM stripe_processed_events").fetchall() == \
        [("customer.created", False)]
    assert schema.execute("SELECT email FROM stripe_customers").fetchall() == [("webhook@example.test",)]
