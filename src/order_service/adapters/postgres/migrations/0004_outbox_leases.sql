-- Relays claim outbox rows for a while (a lease) instead of holding a transaction open while
-- they publish: the row is published outside any transaction and marked right after. A claim
-- whose lease has ended (its relay died) is claimed again. Nullable and without a default, so
-- adding them rewrites nothing and takes its lock only for a moment; the claim query is served
-- by order_outbox_pending (0002), which a lease does not change.
ALTER TABLE order_outbox
    ADD COLUMN claimed_by    text,
    ADD COLUMN claimed_until timestamptz;
