-- depends: 0023_sparse_dot_range

-- Speech (issue 20; domain/usecases/speech.py).
-- Usage records now also count speech: `kind` says what a record counts; a reply's
-- record names its message (one per reply, as before), a speech record names the reply
-- it spoke, if any, and holds the tokens of the budget its seconds count.
ALTER TABLE usage_records
    ADD COLUMN kind text NOT NULL DEFAULT 'reply'
        CHECK (kind IN ('reply', 'synthesis', 'transcription')),
    ADD COLUMN speech_tokens integer NOT NULL DEFAULT 0 CHECK (speech_tokens >= 0),
    ALTER COLUMN conversation_id DROP NOT NULL,
    ALTER COLUMN message_id DROP NOT NULL,
    ADD CONSTRAINT usage_records_reply_names_its_message
        CHECK (kind <> 'reply' OR (message_id IS NOT NULL AND conversation_id IS NOT NULL));
ALTER TABLE usage_records DROP CONSTRAINT usage_records_message_id_key;
CREATE UNIQUE INDEX usage_records_reply_message_key ON usage_records (message_id)
    WHERE kind = 'reply';

-- A reply spoken once per engine and voice, its WAV kept in the blob store: in
-- `message_audio_blobs` (parts of at most 1 MiB, as document_blobs) when blobs are kept
-- in PostgreSQL, else where AVATARADAM_BLOBS_BACKEND keeps them, under `blob_id`.
-- The row is written first (a concurrent first play finds it and writes no blob).
CREATE TABLE message_audio (
    message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    engine text NOT NULL,
    voice text NOT NULL,
    blob_id uuid NOT NULL UNIQUE,
    dealership_id uuid NOT NULL REFERENCES dealerships (id) ON DELETE CASCADE,
    content_type text NOT NULL,
    size_bytes integer NOT NULL CHECK (size_bytes > 0),
    duration_s double precision NOT NULL CHECK (duration_s >= 0),
    sample_rate integer NOT NULL CHECK (sample_rate > 0),
    sha256 text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (message_id, engine, voice)
);

CREATE TABLE message_audio_blobs (
    blob_id uuid NOT NULL REFERENCES message_audio (blob_id) ON DELETE CASCADE,
    seq integer NOT NULL CHECK (seq >= 0),
    data bytea NOT NULL,
    PRIMARY KEY (blob_id, seq)
);
ALTER TABLE message_audio_blobs ALTER COLUMN data SET STORAGE EXTERNAL;
