/*
 * avataradam_vector: exact cosine similarity of two real[] embeddings, in C.
 *
 * Why this exists: the PostgreSQL vector store needs an exact cosine search over
 * ~100k embeddings per dealership. The same computation in SQL (unnest + sum) takes
 * seconds per query; this function makes it a plain sequential scan (tens of ms).
 * pgvector would serve equally well, but it is not packaged for the Debian release
 * this project runs on, so the project ships this one small function instead.
 *
 * Contract: both arguments are one-dimensional real[] without NULL elements and of
 * equal length (else an error); the result is in [-1, 1], and 0 when either vector
 * has zero length (no direction, so no similarity).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"

PG_MODULE_MAGIC;

static const float4 *
embedding_values(ArrayType *array, int *length)
{
	if (ARR_ELEMTYPE(array) != FLOAT4OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("embedding must be real[]")));
	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("embedding must be one-dimensional")));
	if (ARR_HASNULL(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("embedding must not contain NULL")));
	*length = ARR_NDIM(array) == 0 ? 0 : ARR_DIMS(array)[0];
	return (const float4 *) ARR_DATA_PTR(array);
}

PG_FUNCTION_INFO_V1(avataradam_cosine_similarity);

Datum
avataradam_cosine_similarity(PG_FUNCTION_ARGS)
{
	ArrayType  *left = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *right = PG_GETARG_ARRAYTYPE_P(1);
	int			left_length;
	int			right_length;
	const float4 *x = embedding_values(left, &left_length);
	const float4 *y = embedding_values(right, &right_length);
	double		dot = 0.0;
	double		left_norm = 0.0;
	double		right_norm = 0.0;
	double		similarity;

	if (left_length != right_length)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("embeddings differ in dimension: %d and %d",
						left_length, right_length)));

	for (int i = 0; i < left_length; i++)
	{
		dot += (double) x[i] * (double) y[i];
		left_norm += (double) x[i] * (double) x[i];
		right_norm += (double) y[i] * (double) y[i];
	}
	if (left_norm == 0.0 || right_norm == 0.0)
		PG_RETURN_FLOAT8(0.0);

	similarity = dot / sqrt(left_norm * right_norm);
	/* rounding can overshoot the mathematical bounds by an ulp */
	if (similarity > 1.0)
		similarity = 1.0;
	else if (similarity < -1.0)
		similarity = -1.0;
	PG_RETURN_FLOAT8(similarity);
}
