/*
 * avataradam_vector: exact cosine similarity of two real[] embeddings, and the dot
 * product of two sparse vectors, in C.
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
 *
 * Since 1.1, avataradam_sparse_dot(indices, values, indices, values): the dot product
 * of two sparse vectors (multilingual-e5-small's "latent terms", ~256 of 16384 dims
 * non-zero), each given as strictly ascending int4[] dimensions and their float4[]
 * weights. A merge join over the two index arrays sums the products of the shared
 * dimensions (in double precision, returned as real); 0 when none is shared. Errors
 * on NULL elements, multi-dimensional arrays, a pair of arrays of unequal length and
 * indices that do not strictly ascend (the merge would silently miss products).
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

static const void *
sparse_part(ArrayType *array, Oid element_type, const char *what, int *length)
{
	if (ARR_ELEMTYPE(array) != element_type)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("sparse vector %s must be %s", what,
						element_type == INT4OID ? "int4[]" : "float4[]")));
	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("sparse vector %s must be one-dimensional", what)));
	if (ARR_HASNULL(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("sparse vector %s must not contain NULL", what)));
	*length = ARR_NDIM(array) == 0 ? 0 : ARR_DIMS(array)[0];
	return ARR_DATA_PTR(array);
}

static int
sparse_length(ArrayType *indices, ArrayType *values,
			  const int32 **index_data, const float4 **value_data)
{
	int			index_length;
	int			value_length;

	*index_data = (const int32 *) sparse_part(indices, INT4OID, "indices", &index_length);
	*value_data = (const float4 *) sparse_part(values, FLOAT4OID, "values", &value_length);
	if (index_length != value_length)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("sparse vector has %d indices but %d values",
						index_length, value_length)));
	return index_length;
}

static void
not_ascending(int position, int32 previous, int32 current)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("sparse vector indices must strictly ascend: %d follows %d at position %d",
					current, previous, position + 1)));
}

PG_FUNCTION_INFO_V1(avataradam_sparse_dot);

Datum
avataradam_sparse_dot(PG_FUNCTION_ARGS)
{
	const int32 *xi;
	const float4 *xv;
	const int32 *yi;
	const float4 *yv;
	int			x_length = sparse_length(PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_ARRAYTYPE_P(1),
										 &xi, &xv);
	int			y_length = sparse_length(PG_GETARG_ARRAYTYPE_P(2), PG_GETARG_ARRAYTYPE_P(3),
										 &yi, &yv);
	int			i = 0;
	int			j = 0;
	double		dot = 0.0;

	/* merge join; each index is checked against its predecessor as the walk passes it */
	while (i < x_length && j < y_length)
	{
		if (i > 0 && xi[i] <= xi[i - 1])
			not_ascending(i, xi[i - 1], xi[i]);
		if (j > 0 && yi[j] <= yi[j - 1])
			not_ascending(j, yi[j - 1], yi[j]);
		if (xi[i] < yi[j])
			i++;
		else if (xi[i] > yi[j])
			j++;
		else
		{
			dot += (double) xv[i] * (double) yv[j];
			i++;
			j++;
		}
	}
	/* the tails the walk did not reach are checked too, so the contract never depends on
	 * the other argument */
	for (i = i > 0 ? i : 1; i < x_length; i++)
		if (xi[i] <= xi[i - 1])
			not_ascending(i, xi[i - 1], xi[i]);
	for (j = j > 0 ? j : 1; j < y_length; j++)
		if (yi[j] <= yi[j - 1])
			not_ascending(j, yi[j - 1], yi[j]);
	PG_RETURN_FLOAT4((float4) dot);
}
