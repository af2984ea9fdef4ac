-- Knowledge base, conversations, outbox, idempotency, feedback, webhooks.
-- depends: 0001_foundation
-- Listings page by keyset over (created_at, id); each listing has an index that
-- serves its filter and that order.

CREATE TABLE documents (
    id uuid PRIMARY KEY,
    dealership_id uuid NOT NULL REFERENCES dealerships (id),
    topic text NOT NULL CHECK (topic IN (
        'books', 'objection_handling', 'playbooks', 'videos', 'compliance', 'product_knowledge'
    )),
    filename text NOT NULL,
    content_type text NOT NULL,
    size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
    sha256 text NOT NULL,
    status text NOT NULL CHECK (status IN ('queued', 'processing', 'ready', 'failed', 'deleting')),
    stage text CHECK (stage IN ('extracting', 'chunking', 'embedding', 'indexing', 'storing')),
    progress double precision NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    chunk_count integer NOT NULL DEFAULT 0 CHECK (chunk_count >= 0),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    error_code text,
    error_message text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
-- The same file may be uploaded again once its previous copy is being deleted.
CREATE UNIQUE INDEX documents_content_key
    ON documents (dealership_id, topic, sha256) WHERE status <> 'deleting';
CREATE INDEX documents_dealership_created_idx ON documents (dealership_id, created_at, id);
CREATE INDEX documents_status_updated_idx ON documents (status, updated_at, id);

-- A blob is written before its document row in the same transaction (its size and
-- digest are known only once streamed), hence the deferred foreign key.
CREATE TABLE document_blobs (
    document_id uuid NOT NULL
        REFERENCES documents (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    seq integer NOT NULL CHECK (seq >= 0),
    data bytea NOT NULL,
    PRIMARY KEY (document_id, seq)
);
ALTER TABLE document_blobs ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE chunks (
    id text PRIMARY KEY,
    document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    dealership_id uuid NOT NULL REFERENCES dealerships (id),
    index integer NOT NULL CHECK (index >= 0),
    text text NOT NULL,
    topic text NOT NULL,
    filename text NOT NULL,
    page integer,
    section text,
    UNIQUE (document_id, index)
);

CREATE TABLE outbox (
    id uuid PRIMARY KEY,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    available_at timestamptz NOT NULL
);
CREATE INDEX outbox_available_idx ON outbox (available_at, id);

CREATE TABLE idempotency_keys (
    scope text NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    status_code integer NOT NULL,
    body bytea NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

CREATE TABLE conversations (
    id uuid PRIMARY KEY,
    dealership_id uuid NOT NULL REFERENCES dealerships (id),
    user_id uuid NOT NULL REFERENCES users (id),
    mode text NOT NULL CHECK (mode IN ('training', 'roleplay')),
    scenario text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX conversations_owner_created_idx
    ON conversations (dealership_id, user_id, created_at, id);

-- seq breaks ties between messages stored with the same timestamp.
CREATE TABLE messages (
    id uuid PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    role text NOT NULL CHECK (role IN ('user', 'assistant')),
    content text NOT NULL,
    sources jsonb NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL
);
CREATE INDEX messages_conversation_order_idx ON messages (conversation_id, created_at, seq);

CREATE TABLE message_feedback (
    id uuid PRIMARY KEY,
    message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    dealership_id uuid NOT NULL REFERENCES dealerships (id),
    user_id uuid NOT NULL REFERENCES users (id),
    rating text NOT NULL CHECK (rating IN ('up', 'down')),
    reason text,
    created_at timestamptz NOT NULL
);
CREATE INDEX message_feedback_dealership_created_idx
    ON message_feedback (dealership_id, created_at, id);
CREATE INDEX message_feedback_message_idx ON message_feedback (message_id);

CREATE TABLE webhook_subscriptions (
    id uuid PRIMARY KEY,
    dealership_id uuid NOT NULL REFERENCES dealerships (id),
    url text NOT NULL,
    events text[] NOT NULL,
    secret text NOT NULL,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL
);
CREATE INDEX webhook_subscriptions_dealership_created_idx
    ON webhook_subscriptions (dealership_id, created_at, id);

CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY,
    subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_type text NOT NULL,
    message_id text NOT NULL,
    payload bytea NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_status_code integer,
    last_error text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (subscription_id, message_id)
);
CREATE INDEX webhook_deliveries_subscription_created_idx
    ON webhook_deliveries (subscription_id, created_at, id);
