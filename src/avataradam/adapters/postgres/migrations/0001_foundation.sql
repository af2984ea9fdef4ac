-- Foundation: dealerships, users, refresh tokens.

CREATE TABLE dealerships (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    active boolean NOT NULL DEFAULT true,
    knowledge_base_generation bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX dealerships_created_idx ON dealerships (created_at, id);

CREATE TABLE users (
    id uuid PRIMARY KEY,
    email text NOT NULL,
    password_hash text NOT NULL,
    role text NOT NULL CHECK (role IN ('super_admin', 'dealership_admin', 'user')),
    dealership_id uuid REFERENCES dealerships (id),
    first_name text,
    last_name text,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK ((role = 'super_admin') = (dealership_id IS NULL))
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_dealership_created_idx ON users (dealership_id, created_at, id);

CREATE TABLE refresh_tokens (
    token_hash text PRIMARY KEY,
    family_id uuid NOT NULL,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    rotated_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
