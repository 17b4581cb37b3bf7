-- The bounds 0001 did not state (order_service/models/bounds.py: every amount in minor units
-- is below 10^18), and what the relay needs to set aside a change it can never publish.

ALTER TABLE orders
    ADD CONSTRAINT orders_total_minor_bound CHECK (total_minor <= 999999999999999999);

ALTER TABLE order_items
    ADD CONSTRAINT order_items_unit_price_minor_bound CHECK (unit_price_minor <= 999999999999999999);

-- A change that failed for a reason retrying cannot fix is marked failed, with the reason, so
-- the changes after it are still announced. Published rows are purged after a retention period.
ALTER TABLE order_outbox
    ADD COLUMN failed_at      timestamptz,
    ADD COLUMN failure_reason text CHECK (length(failure_reason) <= 1000),
    ADD CONSTRAINT failed_changes_have_a_reason CHECK ((failed_at IS NULL) = (failure_reason IS NULL));

DROP INDEX order_outbox_unpublished;
CREATE INDEX order_outbox_pending ON order_outbox (id) WHERE published_at IS NULL AND failed_at IS NULL;
CREATE INDEX order_outbox_published ON order_outbox (published_at) WHERE published_at IS NOT NULL;
