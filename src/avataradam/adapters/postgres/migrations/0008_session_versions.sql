-- Sessions end when the account changes: a per-user session version that every access
-- and refresh token carries, and a fast way to revoke all refresh tokens of a user.
-- depends: 0007_feedback_unique

ALTER TABLE users ADD COLUMN session_version integer NOT NULL DEFAULT 0;
ALTER TABLE refresh_tokens ADD COLUMN session_version integer NOT NULL DEFAULT 0;
CREATE INDEX refresh_tokens_user_live_idx ON refresh_tokens (user_id) WHERE revoked_at IS NULL;
