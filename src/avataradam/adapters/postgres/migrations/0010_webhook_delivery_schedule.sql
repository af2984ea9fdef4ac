-- Webhook deliveries are scheduled in PostgreSQL (re-driven when their queue message is
-- lost); subscriptions get a circuit, a disabled reason and a rotated secret's grace.
-- depends: 0002_knowledge

-- When the delivery is next due; while an attempt runs, the end of its lease. NULL once
-- it is delivered or failed.
ALTER TABLE webhook_deliveries ADD COLUMN due_at timestamptz;
UPDATE webhook_deliveries SET due_at = updated_at WHERE status = 'pending';
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (due_at) WHERE status = 'pending';

ALTER TABLE webhook_subscriptions
    ADD COLUMN previous_secret text,
    ADD COLUMN previous_secret_expires_at timestamptz,
    ADD COLUMN disabled_reason text,
    ADD COLUMN consecutive_failures integer NOT NULL DEFAULT 0
        CHECK (consecutive_failures >= 0),
    ADD COLUMN circuit_open_until timestamptz;
