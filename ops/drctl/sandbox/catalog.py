"""The synthetic product catalog the reindex benchmark, its tests and the Q3 drill index."""
from __future__ import annotations

import psycopg


def seed_products(conn: psycopg.Connection, rows: int, first_id: int = 1) -> None:
    """A synthetic `public.products` catalog shaped like ops/dr/typesense/products.schema.json's source."""
    conn.execute("""CREATE TABLE IF NOT EXISTS products (
        id bigint PRIMARY KEY, name text NOT NULL, description text, brand text NOT NULL,
        category text NOT NULL, tags text[], price numeric(10,2) NOT NULL, in_stock boolean NOT NULL,
        popularity integer NOT NULL, updated_at timestamptz NOT NULL)""")
    conn.execute("""INSERT INTO products
        SELECT g, 'product ' || g || ' ' || (ARRAY['red','blue','green','black'])[1 + g %% 4] || ' widget',
               'sturdy widget number ' || g || ' for every day', 'brand' || (g %% 50), 'cat' || (g %% 20),
               ARRAY['t' || (g %% 7), 't' || (g %% 11)], (g %% 1000) / 10.0 + 0.99, g %% 4 <> 0,
               (g * 7919) %% 1000, timestamptz '2026-01-01' + g * interval '1 minute'
        FROM generate_series(%s::bigint, %s::bigint) AS g""", (first_id, first_id + rows - 1))
    conn.execute("ANALYZE products")
