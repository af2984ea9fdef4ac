-- depends: 0002_knowledge

-- Training replies record how well their passages support them (domain.citations):
-- grounded = every claim supported; supported_share = supported claims / claims.
-- NULL for trainee messages, roleplay lines and replies stored before this migration.
ALTER TABLE messages
    ADD COLUMN grounded boolean,
    ADD COLUMN supported_share real CHECK (supported_share BETWEEN 0 AND 1),
    -- Served from the answer cache (usecases/answers.py): no model call was made.
    ADD COLUMN cached boolean NOT NULL DEFAULT false;
