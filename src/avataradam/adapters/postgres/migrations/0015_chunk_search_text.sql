-- depends: 0014_conversation_language

-- Keyword search over a dealership's passages (adapters/postgres/keywords.py), fused with
-- the vector ranking (domain/fusion.py). The variant the retrieval bench measured
-- (bench/retrieval/keyword.py, `en_es/websearch/title_section_text`): the document's
-- title, the passage's heading path and its text, indexed under English and Spanish
-- configurations that fold accents ("crédito" meets "credito"), both concatenated.
--
-- `unaccent` ships with PostgreSQL's contrib (Debian's postgresql-15 package) and is a
-- trusted extension: a database owner may create it.
CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE TEXT SEARCH CONFIGURATION avataradam_english (COPY = english);
ALTER TEXT SEARCH CONFIGURATION avataradam_english
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;
CREATE TEXT SEARCH CONFIGURATION avataradam_spanish (COPY = spanish);
ALTER TEXT SEARCH CONFIGURATION avataradam_spanish
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, spanish_stem;

-- The title a document's passages are searched under: its context title (what its
-- passages are embedded with, recorded when it is made ready), else its filename made
-- readable (no extension; `_`, `-` and `.` read as spaces), as domain.embedding_text does.
CREATE FUNCTION avataradam_search_title(context_title text, filename text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(nullif(btrim(context_title), ''), btrim(regexp_replace(
        regexp_replace(filename, '\.[A-Za-z0-9]{1,5}$', ''), '[\s_.-]+', ' ', 'g')))
$$;

-- The searched text: "<title> / <heading path>" on a line before the passage's text.
CREATE FUNCTION avataradam_search_text(
    title text, section_path text[], section text, body text
) RETURNS tsvector LANGUAGE sql IMMUTABLE AS $$
    SELECT to_tsvector('avataradam_english'::regconfig, doc)
        || to_tsvector('avataradam_spanish'::regconfig, doc)
    FROM (SELECT concat_ws(' / ', nullif(title, ''),
        coalesce(nullif(array_to_string(section_path, ' > '), ''), section))
        || E'\n' || body AS doc) AS searched
$$;

ALTER TABLE chunks ADD COLUMN search_text tsvector;

-- A chunk's search_text is computed as it is written, from its document's title as it
-- stands then; when the document's title changes (its context title is recorded in
-- the transaction that makes it ready, after its first chunks were written), its
-- chunks are recomputed. Triggers, so that every writer keeps the column right.
CREATE FUNCTION avataradam_chunk_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_text := avataradam_search_text(
        (SELECT avataradam_search_title(d.context_title, d.filename)
         FROM documents d WHERE d.id = NEW.document_id),
        NEW.section_path, NEW.section, NEW.text);
    RETURN NEW;
END
$$;
CREATE TRIGGER chunks_search_text
    BEFORE INSERT OR UPDATE OF text, section, section_path, document_id ON chunks
    FOR EACH ROW EXECUTE FUNCTION avataradam_chunk_search_text();

CREATE FUNCTION avataradam_document_search_title() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    title text := avataradam_search_title(NEW.context_title, NEW.filename);
BEGIN
    IF title IS DISTINCT FROM avataradam_search_title(OLD.context_title, OLD.filename) THEN
        UPDATE chunks SET search_text = avataradam_search_text(
            title, section_path, section, text)
        WHERE document_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER documents_search_title
    AFTER UPDATE OF context_title, filename ON documents
    FOR EACH ROW EXECUTE FUNCTION avataradam_document_search_title();

UPDATE chunks c SET search_text = avataradam_search_text(
    avataradam_search_title(d.context_title, d.filename), c.section_path, c.section, c.text)
FROM documents d WHERE d.id = c.document_id;

CREATE INDEX chunks_search_text_idx ON chunks USING gin (search_text);
