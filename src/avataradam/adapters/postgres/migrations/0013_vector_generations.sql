-- depends: 0012_usage

-- Re-embedding a knowledge base with another model (domain/vectors.py).
-- A dealership's passages are searched in one vector generation at a time: its vectors
-- live in the index namespace of that generation (generation 0: the dealership id, as
-- before this migration; n > 0: '<dealership id>.g<n>'), made by one vector profile
-- ('<embedder>:<embedded-text format>', e.g. 'e5:title_section'). NULL profile: nothing
-- recorded yet (no document made ready since this migration); the service's configured
-- profile applies and the first document made ready records it.
ALTER TABLE dealerships
    ADD COLUMN vector_generation integer NOT NULL DEFAULT 0 CHECK (vector_generation >= 0),
    ADD COLUMN vector_profile text;

-- What a passage's embedded text is made of beyond its own text, kept so that a
-- re-embedding rebuilds the same text without the file: the title the document's
-- passages are embedded with, and each passage's heading path (NULL for rows of before
-- this migration: the filename and the section stand in).
ALTER TABLE documents ADD COLUMN context_title text;
ALTER TABLE chunks ADD COLUMN section_path text[];

-- One row per re-embedding: a new generation built in the background while search
-- keeps serving the active one, then made active in one transaction.
CREATE TABLE reembeddings (
    dealership_id uuid NOT NULL REFERENCES dealerships (id),
    generation integer NOT NULL CHECK (generation > 0),
    source_profile text,
    source_generation integer NOT NULL,
    target_profile text NOT NULL,
    status text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
    documents_total integer NOT NULL DEFAULT 0 CHECK (documents_total >= 0),
    documents_done integer NOT NULL DEFAULT 0 CHECK (documents_done >= 0),
    chunks_done bigint NOT NULL DEFAULT 0 CHECK (chunks_done >= 0),
    lease_token uuid,
    lease_expires_at timestamptz,
    error_message text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    finished_at timestamptz,
    PRIMARY KEY (dealership_id, generation)
);
-- At most one running per dealership.
CREATE UNIQUE INDEX reembeddings_one_running ON reembeddings (dealership_id)
    WHERE status = 'running';
CREATE INDEX reembeddings_running_lease_idx ON reembeddings (lease_expires_at)
    WHERE status = 'running';

-- The documents a re-embedding has written into its generation (what it resumes from).
CREATE TABLE reembedding_documents (
    dealership_id uuid NOT NULL,
    generation integer NOT NULL,
    document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    PRIMARY KEY (dealership_id, generation, document_id),
    FOREIGN KEY (dealership_id, generation)
        REFERENCES reembeddings (dealership_id, generation) ON DELETE CASCADE
);
