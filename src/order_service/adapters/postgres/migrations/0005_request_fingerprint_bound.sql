-- migrate: no-transaction
-- The bound 0001 did not state for the one unbounded text column of orders: a request's
-- fingerprint is always the hex SHA-256 of what it means (models/order.py), or NULL for an
-- order placed without an Idempotency-Key.
--
-- Added NOT VALID, which checks the rows written from now on and takes its lock only for a
-- moment; then validated in a step of its own, which reads the existing rows without
-- blocking writes.

ALTER TABLE orders
    ADD CONSTRAINT orders_request_fingerprint_is_a_digest CHECK (request_fingerprint ~ '^[0-9a-f]{64}$') NOT VALID;

ALTER TABLE orders VALIDATE CONSTRAINT orders_request_fingerprint_is_a_digest;
