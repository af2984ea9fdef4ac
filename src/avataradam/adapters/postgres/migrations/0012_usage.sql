-- depends: 0011_message_grounding

-- Usage and budgets (domain/usecases/usage.py).
-- A super admin's per-dealership monthly token budget; NULL = the service default
-- (AVATARADAM_USAGE_MONTHLY_TOKEN_BUDGET), 0 = unlimited.
ALTER TABLE dealerships
    ADD COLUMN monthly_token_budget bigint CHECK (monthly_token_budget >= 0);

-- One row per reply that involved the model or the answer cache, stored in the same
-- transaction as the reply (message_id is unique: recorded exactly once).
CREATE TABLE usage_records (
    id uuid PRIMARY KEY,
    dealership_id uuid NOT NULL REFERENCES dealerships (id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL,
    message_id uuid NOT NULL UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
    model text NOT NULL,
    prompt_tokens integer NOT NULL CHECK (prompt_tokens >= 0),
    completion_tokens integer NOT NULL CHECK (completion_tokens >= 0),
    speech_seconds double precision NOT NULL DEFAULT 0 CHECK (speech_seconds >= 0),
    latency_ms double precision NOT NULL CHECK (latency_ms >= 0),
    cached boolean NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX usage_records_dealership_time_idx ON usage_records (dealership_id, created_at);

-- Budget alerts already raised: one per dealership, period (first day of the month,
-- UTC) and threshold (percent), so each fires once per period across instances.
CREATE TABLE usage_alerts (
    dealership_id uuid NOT NULL REFERENCES dealerships (id) ON DELETE CASCADE,
    period date NOT NULL,
    threshold smallint NOT NULL CHECK (threshold BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (dealership_id, period, threshold)
);
