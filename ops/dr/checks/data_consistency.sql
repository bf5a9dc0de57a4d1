-- Seed check (Appendix N, ops/dr/checks/data_consistency.sql), kept verbatim below for reference.
-- Use `drctl consistency --source DSN --target DSN` instead; this script's limits:
--   * It only says "mismatch": run on both sides, the counts or the hash differ, and nothing tells which rows.
--   * Only users/orders/payments/messages are counted and only orders(id, updated_at) is hashed: a change to
--     any other column (amount, status, ...) goes unnoticed when updated_at was not bumped.
--   * updated_at::text depends on each server's TimeZone/DateStyle, so identical data can hash differently.
--   * string_agg builds the whole table as one string in the backend: memory grows with the table, and past
--     PostgreSQL's 1 GB string limit (about 35M rows here) the query fails with "out of memory".

-- Row counts & sums for sanity
SELECT 'users' AS t, COUNT(*) AS c FROM public.users
UNION ALL SELECT 'orders', COUNT(*) FROM public.orders
UNION ALL SELECT 'payments', COUNT(*) FROM public.payments
UNION ALL SELECT 'messages', COUNT(*) FROM public.messages;

-- Hash of critical business keys
SELECT md5(string_agg(id::text || ':' || updated_at::text, ','
ORDER BY id)) AS orders_hash FROM public.orders;
