-- depends: 0016_sparse_vectors

-- The SQL fallback of `avataradam_sparse_dot` (migration 0016, databases without the
-- project's C extension) raised "value out of range: underflow" for a dot product
-- smaller than float4's smallest subnormal (two tiny weights, e.g. 1e-30 x 1e-30), and
-- "overflow" past float4's largest value, where the C function returns what C's
-- (float4) cast gives: zero, or an infinity. Found by the property test in
-- tests/integration/test_migration_sparse_vectors.py. The fallback now rounds as the C
-- function does; databases with the extension are untouched.

DO $migration$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
               WHERE p.oid = 'avataradam_sparse_dot(int4[], float4[], int4[], float4[])'::regprocedure
                 AND l.lanname = 'plpgsql') THEN
        CREATE OR REPLACE FUNCTION avataradam_sparse_dot(left_indices int4[], left_values float4[],
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
                -- as C's (float4) cast rounds: to a signed zero below half the smallest
                -- subnormal, to an infinity from half an ulp past the largest finite value
                -- (PostgreSQL's float8 -> float4 cast raises for both instead)
                IF abs(dot) <= 2.0::float8 ^ -150 THEN
                    RETURN (sign(dot) * 0.0)::float4;
                ELSIF abs(dot) >= 2.0::float8 ^ 128 - 2.0::float8 ^ 103 THEN
                    RETURN (sign(dot) * 'Infinity'::float8)::float4;
                END IF;
                RETURN coalesce(dot, 0.0)::float4;
            END
            $dot$;
    END IF;
END
$migration$;
