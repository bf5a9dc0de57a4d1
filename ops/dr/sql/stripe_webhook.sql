-- Stripe webhook handler state (ops/drctl/dataplane/stripe_webhook.py). Idempotent: `drctl stripe-replay --execute`
-- applies it before replaying, in one transaction.
--
-- Two runs starting at once would race on CREATE TABLE IF NOT EXISTS (PostgreSQL can then fail with a
-- duplicate pg_type row); the transaction-scoped advisory lock makes the second wait for the first.
SELECT pg_advisory_xact_lock(hashtext('dr-platform:stripe_webhook.sql'));

-- One row per Stripe event whose effect has been applied. The primary key is what makes the handler
-- exactly-once: the row is inserted in the same transaction as the effect, with ON CONFLICT DO NOTHING.
CREATE TABLE IF NOT EXISTS stripe_processed_events (
    event_id     text PRIMARY KEY,
    type         text        NOT NULL,
    created      timestamptz NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    replayed     boolean     NOT NULL
);

-- Ledgers: the latest known state of each Stripe object. `last_event_created` lets an older event that
-- arrives late (replays list newest first on api.stripe.com) leave a newer state alone.
CREATE TABLE IF NOT EXISTS stripe_payments (
    payment_intent_id  text PRIMARY KEY,
    customer_id        text,
    amount             bigint      NOT NULL,
    currency           text        NOT NULL,
    status             text        NOT NULL,
    last_event_id      text        NOT NULL,
    last_event_created timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS stripe_invoices (
    invoice_id         text PRIMARY KEY,
    customer_id        text,
    amount_due         bigint      NOT NULL,
    amount_paid        bigint      NOT NULL,
    currency           text        NOT NULL,
    status             text,
    last_event_id      text        NOT NULL,
    last_event_created timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS stripe_customers (
    customer_id        text PRIMARY KEY,
    email              text,
    name               text,
    deleted            boolean     NOT NULL DEFAULT false,
    last_event_id      text        NOT NULL,
    last_event_created timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
