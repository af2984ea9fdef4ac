-- depends: 0018_scorecards

-- Knowledge gaps (issue 18, domain/usecases/knowledge_gaps.py): training questions the
-- knowledge base could not answer, grouped into topics by the worker.

-- A topic. `centroid` is the sum of its questions' vectors (made by `embedding_model`;
-- a question is compared with centroid / |centroid|), `member_count` how many were
-- added, `title` the question nearest the centroid. Counts shown to admins are counted
-- from knowledge_gap_questions in the asked window, never stored here.
CREATE TABLE knowledge_gaps (
    id uuid PRIMARY KEY,
    dealership_id uuid NOT NULL REFERENCES dealerships (id) ON DELETE CASCADE,
    title text NOT NULL,
    embedding_model text NOT NULL,
    centroid real[] NOT NULL,
    member_count integer NOT NULL CHECK (member_count >= 0),
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolved_at timestamptz,
    resolved_by uuid REFERENCES users (id) ON DELETE SET NULL,
    resolve_note text CHECK (char_length(resolve_note) <= 1000),
    created_at timestamptz NOT NULL,
    CHECK ((status = 'resolved') = (resolved_at IS NOT NULL))
);
CREATE INDEX knowledge_gaps_dealership_model_idx
    ON knowledge_gaps (dealership_id, embedding_model);

-- One row per training answer that was a gap (message_id: the assistant's reply),
-- written in the reply's (or its rating's) transaction. `gap_id` NULL: not grouped yet
-- (the worker embeds and assigns it). `question` is the trainee's question, cut to
-- 500 characters.
CREATE TABLE knowledge_gap_questions (
    message_id uuid PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    dealership_id uuid NOT NULL REFERENCES dealerships (id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    question text NOT NULL CHECK (char_length(question) BETWEEN 1 AND 500),
    language text NOT NULL,
    reason text NOT NULL
        CHECK (reason IN ('no_material', 'weak_material', 'thumbs_down', 'reported_inaccurate')),
    top_score real,
    asked_at timestamptz NOT NULL,
    gap_id uuid REFERENCES knowledge_gaps (id) ON DELETE SET NULL,
    embedding real[],
    embedding_model text
);
-- Per-dealership time ranges (the admins' list), a gap's questions (examples, recurrence,
-- title) and the worker's ungrouped questions.
CREATE INDEX knowledge_gap_questions_dealership_time_idx
    ON knowledge_gap_questions (dealership_id, asked_at);
CREATE INDEX knowledge_gap_questions_gap_time_idx
    ON knowledge_gap_questions (gap_id, asked_at) WHERE gap_id IS NOT NULL;
CREATE INDEX knowledge_gap_questions_ungrouped_idx
    ON knowledge_gap_questions (asked_at) WHERE gap_id IS NULL;
