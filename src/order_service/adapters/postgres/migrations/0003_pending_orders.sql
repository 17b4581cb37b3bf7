-- The orders still pending, oldest first, for the sweep that re-announces those left waiting
-- (handlers/sweep_stalled_orders.py). Partial: an order leaves it once decided or cancelled,
-- so it stays as small as the orders in flight.

CREATE INDEX orders_pending_by_age ON orders (created_at, order_id) WHERE status = 'pending';
