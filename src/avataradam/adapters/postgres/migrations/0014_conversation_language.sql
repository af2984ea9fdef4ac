-- depends: 0013_vector_generations

-- The language a conversation is held in (domain.model.Language): the roleplay customer
-- speaks it; a training reply falls back to it when a question's language is unclear.
-- Conversations started before this migration were English.
ALTER TABLE conversations
    ADD COLUMN language text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'es'));
