-- depends: 0015_chunk_search_text

-- Sparse vectors beside the dense ones (domain.ports.capabilities.SparseSearch):
-- multilingual-e5-small's "latent terms", ~256 non-zero of 16384 dimensions, compared
-- by dot product. Scored by `avataradam_sparse_dot(int4[], float4[], int4[], float4[])`,
-- from version 1.1 of the project's C extension (ops/avataradam_vector, installed by
-- ops/install-pgvector.sh).
--
-- A database that has the extension is updated to 1.1 (a no-op where CREATE EXTENSION
-- already made 1.1); the server must have 1.1 installed, else this migration fails and
-- says so. A database that has no extension (migration 0003 fell back to SQL) gets a
-- SQL function of the same name and contract, ~50x slower, and a WARNING says so. To
-- switch it to the C versions later: DROP FUNCTION avataradam_cosine_similarity(real[],
-- real[]), avataradam_sparse_dot(int4[], float4[], int4[], float4[]); CREATE EXTENSION
-- avataradam_vector;

DO $migration$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'avataradam_vector') THEN
        IF NOT EXISTS (SELECT 1 FROM pg_available_extension_versions
                       WHERE name = 'avataradam_vector' AND version = '1.1') THEN
            RAISE EXCEPTION 'extension avataradam_vector 1.1 is not installed on this server'
                USING HINT = 'run ops/install-pgvector.sh as root, then migrate again',
                      ERRCODE = 'feature_not_supported';
        END IF;
        ALTER EXTENSION avataradam_vector UPDATE TO '1.1';
    ELSE
        RAISE WARNING 'extension avataradam_vector is not in this database (run '
            'ops/install-pgvector.sh); using the slow SQL sparse dot product';
        CREATE FUNCTION avataradam_sparse_dot(left_indices int4[], left_values float4[],
                                              right_indices int4[], right_values float4[])
            RETURNS float4
            LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
            AS $dot$
            DECLARE
                part record;
                dot double precision;
            BEGIN
                FOR part IN SELECT * FROM (VALUES (left_indices, left_values),
                                                  (right_indices, right_values))
                                          AS parts (indices, vals) LOOP
                    IF coalesce(array_ndims(part.indices), 1) > 1 THEN
                        RAISE EXCEPTION 'sparse vector indices must be one-dimensional'
                            USING ERRCODE = 'array_subscript_error';
                    END IF;
                    IF coalesce(array_ndims(part.vals), 1) > 1 THEN
                        RAISE EXCEPTION 'sparse vector values must be one-dimensional'
                            USING ERRCODE = 'array_subscript_error';
                    END IF;
                    IF array_position(part.indices, NULL) IS NOT NULL THEN
                        RAISE EXCEPTION 'sparse vector indices must not contain NULL'
                            USING ERRCODE = 'null_value_not_allowed';
                    END IF;
                    IF array_position(part.vals, NULL) IS NOT NULL THEN
                        RAISE EXCEPTION 'sparse vector values must not contain NULL'
                            USING ERRCODE = 'null_value_not_allowed';
                    END IF;
                    IF cardinality(part.indices) <> cardinality(part.vals) THEN
                        RAISE EXCEPTION 'sparse vector has % indices but % values',
                            cardinality(part.indices), cardinality(part.vals)
                            USING ERRCODE = 'data_exception';
                    END IF;
                    IF EXISTS (SELECT 1 FROM (
                                   SELECT i, lag(i) OVER (ORDER BY n) AS previous
                                   FROM unnest(part.indices) WITH ORDINALITY AS u (i, n)
                               ) AS walk WHERE i <= previous) THEN
                        RAISE EXCEPTION 'sparse vector indices must strictly ascend'
                            USING ERRCODE = 'data_exception';
                    END IF;
                    IF 'NaN' = ANY(part.vals) OR 'Infinity' = ANY(part.vals)
                       OR '-Infinity' = ANY(part.vals) THEN
                        RAISE EXCEPTION 'sparse vector values must be finite'
                            USING ERRCODE = 'data_exception';
                    END IF;
                END LOOP;
                SELECT sum(l.v::double precision * r.v) INTO dot
                  FROM unnest(left_indices, left_values) AS l (i, v)
                  JOIN unnest(right_indices, right_values) AS r (i, v) USING (i);
                RETURN coalesce(dot, 0.0)::float4;
            END
            $dot$;
    END IF;
END
$migration$;

-- A chunk vector's sparse vector: ascending dimensions and their weights, both NULL
-- when it has none (its embedder makes none, or it was written before this migration).
-- Stored uncompressed, as the embeddings are (incompressible floats).
--
-- Rows are kept whole in the table up to 8160 bytes (toast_tuple_target; the default
-- 2032 would move a row's largest array to the TOAST table, and every search would
-- fetch it from there row by row). A 384-dimension embedding with ~256 sparse terms
-- is ~3.8 kB: two rows a page. Measured on 20k such rows (PostgreSQL 15, 2 cores):
-- dense search 37 ms and sparse 53 ms kept whole, against 66 ms and 129 ms toasted
-- (27 ms dense without sparse columns); 1536-dimension embeddings alone: 40 ms whole
-- against 85 ms toasted. Applies to rows as they are written from now on.
ALTER TABLE chunk_vectors
    ADD COLUMN sparse_indices int4[],
    ADD COLUMN sparse_values float4[],
    ADD CONSTRAINT chunk_vectors_sparse_pair
        CHECK ((sparse_indices IS NULL) = (sparse_values IS NULL)),
    ADD CONSTRAINT chunk_vectors_sparse_shape
        CHECK (coalesce(array_ndims(sparse_indices), 1) = 1
               AND coalesce(array_ndims(sparse_values), 1) = 1
               AND cardinality(sparse_indices) = cardinality(sparse_values));
ALTER TABLE chunk_vectors
    ALTER COLUMN sparse_indices SET STORAGE EXTERNAL,
    ALTER COLUMN sparse_values SET STORAGE EXTERNAL,
    SET (toast_tuple_target = 8160);
