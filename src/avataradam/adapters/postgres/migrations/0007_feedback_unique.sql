-- One rating per user and message (the latest wins); upload keys replay their first answer.
-- depends: 0002_knowledge

-- Of the ratings one user gave one message, keep the latest; the unique index then
-- makes every later rating an update of it (ON CONFLICT in the repository).
DELETE FROM message_feedback AS older
 USING message_feedback AS newer
 WHERE older.message_id = newer.message_id
   AND older.user_id = newer.user_id
   AND (older.created_at, older.id) < (newer.created_at, newer.id);
ALTER TABLE message_feedback ADD COLUMN updated_at timestamptz;
UPDATE message_feedback SET updated_at = created_at;
ALTER TABLE message_feedback ALTER COLUMN updated_at SET NOT NULL;
CREATE UNIQUE INDEX message_feedback_rater_key ON message_feedback (message_id, user_id);
-- Lookups by message are served by the unique index's leading column.
DROP INDEX message_feedback_message_idx;

-- Upload keys stored the document's id; they now store the first answer itself (the
-- document as queued), which a replay returns even after the document is gone. Keys
-- of existing documents get that answer rebuilt from the row; keys whose document is
-- gone are forgotten (a retry with one is a new upload).
UPDATE idempotency_keys AS k
   SET body = convert_to(json_build_object(
           'id', d.id, 'dealership_id', d.dealership_id, 'topic', d.topic,
           'filename', d.filename, 'content_type', d.content_type,
           'size_bytes', d.size_bytes, 'sha256', d.sha256, 'status', 'queued',
           'stage', NULL, 'progress', 0.0, 'chunk_count', 0, 'attempts', 0,
           'error', NULL, 'created_at', d.created_at, 'updated_at', d.created_at
       )::text, 'UTF8')
  FROM documents AS d
 WHERE k.scope LIKE 'documents:%'
   AND octet_length(k.body) = 36
   AND encode(k.body, 'escape') = d.id::text;
DELETE FROM idempotency_keys WHERE scope LIKE 'documents:%' AND octet_length(body) = 36;
