"""Real localstripe (in this process) and real PostgreSQL for the RB-N-06 tests.

localstripe keeps one module-level store, so one server runs per process at a time: the server fixtures are
module-scoped and each module seeds its own.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
import stripe

from ops.drctl.sandbox.postgres import PgCluster, pg_cluster
from ops.drctl.sandbox.stripe import local_stripe

API_KEY = "sk_test_dr_platform"  # localstripe accepts any key shaped like a secret key


@dataclass(frozen=True)
class StripeWorld:
    """A seeded localstripe: events before `since`, inside [since, until] (more than one page), after `until`."""
    url: str
    since: int
    until: int

    def client(self) -> stripe.StripeClient:
        return stripe.StripeClient(API_KEY, base_addresses={"api": self.url}, max_network_retries=0)

    def event_ids(self, start: int = 0, end: int = 2**62) -> set[str]:
        """Ground truth from the server's own store."""
        from localstripe.resources import store
        return {e.id for key, e in list(store.items()) if key.startswith("event:") and start <= e.created <= end}

    def window_ids(self) -> set[str]:
        return self.event_ids(self.since, self.until)


def next_second() -> int:
    """Sleep to the start of the next whole second (Stripe's `created` resolution); return that second."""
    boundary = int(time.time()) + 1
    time.sleep(boundary - time.time())
    return boundary


def _card(client: stripe.StripeClient) -> str:
    return client.v1.payment_methods.create({"type": "card", "card": {
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}}).id


def seed(client: stripe.StripeClient, plan: str, *, customers: int, updates: int, payments: int,
         subscriptions: int) -> None:
    """customer.created/updated, payment_intent.succeeded, and per subscription: customer.created,
    invoice.created, payment_intent.succeeded, invoice.payment_succeeded, customer.subscription.created."""
    made = [client.v1.customers.create({"email": f"c{i}-{uuid.uuid4().hex[:6]}@example.test"}).id
            for i in range(customers)]
    for customer in made[:updates]:
        client.v1.customers.update(customer, {"name": "renamed"})
    for i in range(payments):
        client.v1.payment_intents.create({"amount": 1000 + i, "currency": "eur", "customer": made[i % len(made)],
                                          "payment_method": _card(client), "confirm": True})
    for _ in range(subscriptions):
        card = _card(client)
        subscriber = client.v1.customers.create({"email": f"s-{uuid.uuid4().hex[:6]}@example.test",
                                                 "payment_method": card,
                                                 "invoice_settings": {"default_payment_method": card}})
        client.v1.subscriptions.create({"customer": subscriber.id, "items": [{"plan": plan}]})


@pytest.fixture(scope="module")
def stripe_world() -> Iterator[StripeWorld]:
    with local_stripe() as url:
        yield seeded_world(url)


def seeded_world(url: str) -> StripeWorld:
    client = StripeWorld(url, 0, 0).client()
    product = client.v1.products.create({"name": "pro"})
    plan = client.v1.plans.create({"amount": 900, "currency": "eur", "interval": "month",
                                   "product": product.id}).id
    seed(client, plan, customers=10, updates=2, payments=3, subscriptions=2)
    since = next_second()
    seed(client, plan, customers=110, updates=10, payments=8, subscriptions=4)  # 148 events: two pages
    # the window must span seconds, or its listing order (which breaks same-second ties) cannot be told
    next_second()
    client.v1.customers.create({"email": f"late-{uuid.uuid4().hex[:6]}@example.test"})
    until = int(time.time())
    next_second()
    seed(client, plan, customers=5, updates=0, payments=1, subscriptions=1)
    return StripeWorld(url, since, until)


@pytest.fixture(scope="module")
def pg_server() -> Iterator[PgCluster]:
    with pg_cluster() as cluster:
        yield cluster


@pytest.fixture
def database(pg_server: PgCluster) -> str:
    """A fresh, empty database on the module's cluster; yields its DSN."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return pg_server.dsn(name)


@pytest.fixture
def conn(database: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database, autocommit=True) as connection:
        yield connection


def tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as c:
        return {r[0] for r in c.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


@pytest.fixture(autouse=True)
def journals_in_tmp(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs without --journal-dir journal into the test's own directory, not the repository's ops/dr/runs."""
    from ops.drctl.runbooks import engine
    monkeypatch.setattr(engine, "DEFAULT_JOURNAL_DIR", tmp_path / "runs")
