\echo Use "CREATE EXTENSION avataradam_vector" to load this file. \quit

CREATE FUNCTION avataradam_cosine_similarity(real[], real[]) RETURNS double precision
    AS 'MODULE_PATHNAME', 'avataradam_cosine_similarity'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
