-- Orders, their line items, and the outbox every change is announced from.
-- Amounts are exact integers of the currency's minor unit (numeric, never float).

CREATE TABLE orders (
    order_id            text        PRIMARY KEY CHECK (order_id ~ '^[A-Za-z0-9-]{1,64}$'),
    customer_id         text        NOT NULL CHECK (customer_id ~ '^[A-Za-z0-9_-]{1,64}$'),
    customer_email      text        NOT NULL CHECK (length(customer_email) BETWEEN 3 AND 254),
    currency            char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    total_minor         numeric(20, 0) NOT NULL CHECK (total_minor >= 0),
    status              text        NOT NULL CHECK (status IN ('pending', 'completed', 'rejected', 'cancelled')),
    reason              text        CHECK (length(reason) <= 500),
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL CHECK (updated_at >= created_at),
    version             integer     NOT NULL CHECK (version >= 1),
    idempotency_key     text        CHECK (length(idempotency_key) BETWEEN 1 AND 128),
    request_fingerprint text,
    CONSTRAINT one_order_per_idempotency_key UNIQUE (customer_id, idempotency_key),
    CONSTRAINT pending_orders_have_no_reason CHECK (status <> 'pending' OR reason IS NULL)
);

-- A customer's orders, newest first, for keyset pagination.
CREATE INDEX orders_by_customer ON orders (customer_id, created_at DESC, order_id DESC);

CREATE TABLE order_items (
    order_id         text           NOT NULL REFERENCES orders (order_id) ON DELETE CASCADE,
    line_number      smallint       NOT NULL CHECK (line_number BETWEEN 1 AND 50),
    sku              text           NOT NULL CHECK (length(sku) BETWEEN 1 AND 64),
    quantity         integer        NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    unit_price_minor numeric(20, 0) NOT NULL CHECK (unit_price_minor >= 0),
    PRIMARY KEY (order_id, line_number)
);

-- Written in the same transaction as the change it announces; the relay publishes and marks it.
CREATE TABLE order_outbox (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id        text        NOT NULL REFERENCES orders (order_id) ON DELETE CASCADE,
    previous_status text        CHECK (previous_status IN ('pending', 'completed', 'rejected', 'cancelled')),
    snapshot        jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz
);

CREATE INDEX order_outbox_unpublished ON order_outbox (id) WHERE published_at IS NULL;
