-- depends: 0018_scorecards

-- A dealership's own rubrics (domain/model/rubrics.py), one row per version. Versions
-- are immutable: publishing a change inserts the next version, and the trigger below
-- refuses any UPDATE, so a scorecard's (rubric_id, rubric_version) always reads the
-- rubric it was scored with. There is no DELETE in the API either (scorecards keep
-- naming old versions). `body` is {draft, rubric}: what the admin wrote, and the rubric
-- it composed to (domain/training/authoring.py), the one scoring reads. Built-in
-- rubrics live in code and have no rows; an own id is never a built-in's.
-- `created_by` names the publishing admin and outlives the account (no foreign key).
CREATE TABLE rubric_versions (
    dealership_id uuid NOT NULL REFERENCES dealerships (id),
    rubric_id text NOT NULL CHECK (rubric_id ~ '^[a-z][a-z0-9_-]{1,63}$'),
    version integer NOT NULL CHECK (version >= 1),
    body jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    created_by uuid NOT NULL,
    PRIMARY KEY (dealership_id, rubric_id, version)
);

CREATE FUNCTION rubric_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'rubric versions are immutable: publish a new version'
        USING ERRCODE = 'check_violation';
END;
$$;
CREATE TRIGGER rubric_versions_no_update BEFORE UPDATE ON rubric_versions
    FOR EACH ROW EXECUTE FUNCTION rubric_versions_immutable();
