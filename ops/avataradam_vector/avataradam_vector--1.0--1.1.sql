\echo Use "ALTER EXTENSION avataradam_vector UPDATE TO '1.1'" to load this file. \quit

-- 1.1: the dot product of two sparse vectors, each as strictly ascending dimensions
-- (int4[]) and their weights (float4[]); 0 when they share no dimension.
CREATE FUNCTION avataradam_sparse_dot(int4[], float4[], int4[], float4[]) RETURNS float4
    AS 'MODULE_PATHNAME', 'avataradam_sparse_dot'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
