-- depends: 0017_scenarios

-- Completing and scoring a roleplay session (issue 17, DESIGN "The training product").
-- `completed_at`: when the trainee ended the session (NULL: still open). A completed
-- session takes no more messages and has exactly one scorecard row.
ALTER TABLE conversations ADD COLUMN completed_at timestamptz;

-- One scorecard per completed roleplay (domain/model/scorecards.py). The rubric version
-- and the scorer are frozen when the session is completed; a rescore may move them only
-- when asked to (`?rubric=latest`). `body` is the scorecard the scorer answered
-- (domain/training/scorecard.py `Scorecard`), NULL until `scored`.
-- Leases work as documents' (0009): `lease_token` names the worker run that holds a
-- `pending` scorecard until `lease_expires_at`; with no holder, `lease_expires_at` is
-- when the reconciler re-drives it (its task message was lost or its worker died).
-- `attempts` counts the runs that took a lease. A `failed` one keeps its error.
CREATE TABLE scorecards (
    conversation_id uuid PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
    dealership_id uuid NOT NULL REFERENCES dealerships (id),
    user_id uuid NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'scored', 'failed')),
    rubric_id text NOT NULL,
    rubric_version integer NOT NULL CHECK (rubric_version >= 1),
    scorer_kind text NOT NULL CHECK (scorer_kind IN ('rules', 'llm')),
    scorer_model text,
    body jsonb,
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    lease_token uuid,
    lease_expires_at timestamptz,
    error_code text,
    error_message text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    scored_at timestamptz,
    CHECK ((status = 'scored') = (body IS NOT NULL))
);
-- The reconciler's scan: pending scorecards by when they are due.
CREATE INDEX scorecards_pending_due_idx ON scorecards (lease_expires_at NULLS FIRST)
    WHERE status = 'pending';
