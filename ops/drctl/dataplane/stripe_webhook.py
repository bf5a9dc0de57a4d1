"""The idempotent Stripe webhook handler: each event's business effect is applied exactly once.

Live deliveries carry a `Stripe-Signature` header that is verified with Stripe's own code before anything else.
Replays (RB-N-06) feed events fetched from the Stripe API with the account's secret key, so there is no
signature to check; they are recorded with `replayed = true`.

Exactly once: the event id goes into `stripe_processed_events` (primary key) with INSERT ... ON CONFLICT DO
NOTHING in the SAME transaction as the ledger upsert. A second delivery, a replay run twice, or two replays at
once: the loser of the race waits on the key until the winner commits, sees the conflict and applies nothing.
If the winner rolls back, the key is free again and the next attempt applies the effect.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from ops.core.paths import SQL_DIR

if TYPE_CHECKING:
    import psycopg

SCHEMA_SQL = SQL_DIR / "stripe_webhook.sql"

Outcome = Literal["processed", "already_processed"]


class MalformedEvent(ValueError):
    """The payload is not a Stripe event (not JSON, or no id/type/created/data.object)."""


class SignatureRejected(ValueError):
    """A live delivery whose Stripe-Signature does not match the payload and the endpoint secret."""


@dataclass(frozen=True)
class HandlerResult:
    event_id: str
    type: str
    outcome: Outcome
    effect: str | None  # the ledger table written, None when this kind of object has no ledger
    replayed: bool


@dataclass(frozen=True)
class StripeEvent:
    id: str
    type: str
    created: datetime
    object: Mapping[str, Any]


def apply_schema(conn: psycopg.Connection) -> None:
    """Create the handler's tables if missing (ops/dr/sql/stripe_webhook.sql), in one transaction."""
    with conn.transaction():
        conn.execute(SCHEMA_SQL.read_text())


def schema_present(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT to_regclass('stripe_processed_events') IS NOT NULL").fetchone()[0]


def parse_event(payload: bytes) -> StripeEvent:
    try:
        raw = json.loads(payload)
        return StripeEvent(id=str(raw["id"]), type=str(raw["type"]),
                           created=datetime.fromtimestamp(int(raw["created"]), UTC),
                           object=raw["data"]["object"])
    except (ValueError, KeyError, TypeError) as exc:
        raise MalformedEvent(f"not a Stripe event: {exc!r}") from None


def verify_signature(payload: bytes, signature: str | None, secret: str | None) -> None:
    """Stripe's own check (HMAC-SHA256 over `t.payload`, constant-time compare, 5-minute tolerance)."""
    import stripe

    try:
        stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature, secret,
                                              tolerance=stripe.Webhook.DEFAULT_TOLERANCE)
    except stripe.SignatureVerificationError as exc:
        raise SignatureRejected(str(exc)) from None


def handle_event(conn: psycopg.Connection, payload: bytes, *, signature: str | None, secret: str | None,
                 replayed: bool = False) -> HandlerResult:
    """Apply one event. Live mode (`replayed=False`) rejects a bad signature before touching the database;
    replay mode skips the check (the payload came from the Stripe API itself) and records `replayed=true`."""
    if not replayed:
        verify_signature(payload, signature, secret)
    event = parse_event(payload)
    with conn.transaction():
        claimed = conn.execute(
            "INSERT INTO stripe_processed_events (event_id, type, created, replayed) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
            (event.id, event.type, event.created, replayed)).fetchone()
        if claimed is None:
            return HandlerResult(event.id, event.type, "already_processed", None, replayed)
        effect = _apply_effect(conn, event)
    return HandlerResult(event.id, event.type, "processed", effect, replayed)


@dataclass(frozen=True)
class Ledger:
    table: str
    key: str  # the column holding the Stripe object's id
    columns: Callable[[StripeEvent], dict[str, Any]]  # the business columns, from the event's object


def ledger_for(event_object: Mapping[str, Any]) -> Ledger | None:
    """The ledger an event's object lands in. Dispatch is on the object, not on the event type:
    `customer.subscription.created` carries a subscription, not a customer."""
    return LEDGERS.get(str(event_object.get("object")))


def _apply_effect(conn: psycopg.Connection, event: StripeEvent) -> str | None:
    ledger = ledger_for(event.object)
    if ledger is None:
        return None
    _upsert(conn, ledger, event)
    return ledger.table


def _upsert(conn: psycopg.Connection, ledger: Ledger, event: StripeEvent) -> None:
    """Insert or update the object's row, only ever forward in time: a late older event (a replay listed
    newest first, a delayed delivery) must not overwrite a newer state."""
    from psycopg import sql

    values = {ledger.key: str(event.object["id"]), **ledger.columns(event), "last_event_id": event.id,
              "last_event_created": event.created}
    updated = [sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(name)) for name in values if name != ledger.key]
    conn.execute(sql.SQL(
        "INSERT INTO {table} AS existing ({columns}) VALUES ({values}) "
        "ON CONFLICT ({key}) DO UPDATE SET {updated}, updated_at = now() "
        "WHERE existing.last_event_created <= EXCLUDED.last_event_created").format(
            table=sql.Identifier(ledger.table), columns=sql.SQL(", ").join(map(sql.Identifier, values)),
            values=sql.SQL(", ").join([sql.Placeholder()] * len(values)), key=sql.Identifier(ledger.key),
            updated=sql.SQL(", ").join(updated)),
        list(values.values()))


def _payment_columns(event: StripeEvent) -> dict[str, Any]:
    pi = event.object
    return {"customer_id": _object_id(pi.get("customer")), "amount": int(pi.get("amount") or 0),
            "currency": str(pi.get("currency") or ""), "status": str(pi.get("status") or "unknown")}


def _invoice_columns(event: StripeEvent) -> dict[str, Any]:
    inv = event.object
    return {"customer_id": _object_id(inv.get("customer")), "amount_due": int(inv.get("amount_due") or 0),
            "amount_paid": int(inv.get("amount_paid") or 0), "currency": str(inv.get("currency") or ""),
            "status": inv.get("status")}


def _customer_columns(event: StripeEvent) -> dict[str, Any]:
    cus = event.object
    return {"email": cus.get("email"), "name": cus.get("name"),
            "deleted": event.type == "customer.deleted" or bool(cus.get("deleted"))}


def _object_id(value: Any) -> str | None:
    """A reference field is an id, or the expanded object carrying one."""
    if isinstance(value, Mapping):
        return str(value.get("id"))
    return None if value is None else str(value)


LEDGERS: dict[str, Ledger] = {
    "payment_intent": Ledger("stripe_payments", "payment_intent_id", _payment_columns),
    "invoice": Ledger("stripe_invoices", "invoice_id", _invoice_columns),
    "customer": Ledger("stripe_customers", "customer_id", _customer_columns),
}
