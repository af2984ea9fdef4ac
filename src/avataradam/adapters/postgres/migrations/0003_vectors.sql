-- Vector store in PostgreSQL: exact cosine search over real[] embeddings.
-- depends: 0001_foundation
--
-- Similarity is `avataradam_cosine_similarity(real[], real[])`, from the project's C
-- extension (ops/avataradam_vector, installed by ops/install-pgvector.sh): pgvector is
-- not packaged for this Debian release. Where the extension is not installed, a SQL
-- function of the same name and contract is created instead, so the schema works
-- everywhere; it is ~50x slower (seconds at 100k vectors), and a WARNING says so.
-- To switch to the C version later: DROP FUNCTION avataradam_cosine_similarity(real[],
-- real[]); CREATE EXTENSION avataradam_vector;

DO $migration$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'avataradam_vector') THEN
        CREATE EXTENSION IF NOT EXISTS avataradam_vector;
    ELSE
        RAISE WARNING 'extension avataradam_vector is not installed (run '
            'ops/install-pgvector.sh); using the slow SQL cosine similarity';
        CREATE FUNCTION avataradam_cosine_similarity(left_embedding real[],
                                                     right_embedding real[])
            RETURNS double precision
            LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
            AS $similarity$
            DECLARE
                dot double precision;
                left_norm double precision;
                right_norm double precision;
            BEGIN
                IF cardinality(left_embedding) <> cardinality(right_embedding) THEN
                    RAISE EXCEPTION 'embeddings differ in dimension: % and %',
                        cardinality(left_embedding), cardinality(right_embedding)
                        USING ERRCODE = 'data_exception';
                END IF;
                SELECT sum(x::double precision * y), sum(x::double precision * x),
                       sum(y::double precision * y)
                  INTO dot, left_norm, right_norm
                  FROM unnest(left_embedding, right_embedding) AS pairs (x, y);
                IF coalesce(left_norm, 0) = 0 OR coalesce(right_norm, 0) = 0 THEN
                    RETURN 0.0;
                END IF;
                RETURN greatest(-1.0, least(1.0, dot / sqrt(left_norm * right_norm)));
            END
            $similarity$;
    END IF;
END
$migration$;

-- One row per chunk vector; namespace = dealership id. Embeddings are stored as
-- uncompressed real[] of the configured dimension (vector_index_settings).
CREATE TABLE chunk_vectors (
    namespace text NOT NULL,
    id text NOT NULL,
    document_id uuid NOT NULL,
    topic text NOT NULL,
    embedding real[] NOT NULL CHECK (array_ndims(embedding) = 1),
    PRIMARY KEY (namespace, id)
);
-- Embeddings are incompressible floats: skip the compression attempt on TOAST.
ALTER TABLE chunk_vectors ALTER COLUMN embedding SET STORAGE EXTERNAL;
CREATE INDEX chunk_vectors_document_idx ON chunk_vectors (namespace, document_id);

-- The embedding dimension this database's vectors were written with (one row).
CREATE TABLE vector_index_settings (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    dimension integer NOT NULL CHECK (dimension > 0)
);
