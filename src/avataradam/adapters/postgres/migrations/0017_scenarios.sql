-- depends: 0016_sparse_vectors

-- A dealership's own roleplay scenarios (domain/model/scenarios.py); the built-in
-- library lives in code (domain/training/scenarios.py) and has no rows.
-- `persona` is the customer as the domain's CustomerPersona encodes it: name,
-- description, traits, concerns, opening_lines, script and translations
-- ({"es": {opening_lines, script}}), read whole whenever a scenario is.
-- Deleting one sets `deleted_at`: conversations that practised it keep their persona,
-- the slug is free again, and it is no longer listed, read or started.
CREATE TABLE scenarios (
    id uuid PRIMARY KEY,
    dealership_id uuid NOT NULL REFERENCES dealerships (id),
    slug text NOT NULL CHECK (slug ~ '^[a-z][a-z0-9_]{1,63}$'),
    title text NOT NULL,
    product text NOT NULL CHECK (product IN (
        'vsc', 'gap', 'tire_wheel', 'appearance_protection', 'prepaid_maintenance',
        'key_replacement', 'theft_protection', 'menu'
    )),
    difficulty smallint NOT NULL CHECK (difficulty BETWEEN 1 AND 3),
    persona jsonb NOT NULL,
    objectives text[] NOT NULL,
    rubric_id text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz
);
CREATE UNIQUE INDEX scenarios_live_slug_key ON scenarios (dealership_id, slug)
    WHERE deleted_at IS NULL;
CREATE INDEX scenarios_live_page_idx ON scenarios (dealership_id, created_at, id)
    WHERE deleted_at IS NULL;

-- The scenario a roleplay practised, as the API names it: a built-in's slug or the
-- UUID (text) of the dealership's own scenario. Roleplays started before scenarios
-- existed practised the built-in whose slug is their persona key.
ALTER TABLE conversations ADD COLUMN scenario_id text;
UPDATE conversations SET scenario_id = scenario WHERE mode = 'roleplay' AND scenario IS NOT NULL;
