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
 * on NULL elements, multi-dimensional arrays, a pair of arrays of unequal length,
 * indices that do not strictly ascend (the merge would silently miss products) and
 * values that are not finite. Within one query, a right-hand vector that repeats (the
 * query vector of a search) is expanded once into a dense array (see remember()).
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

static void
not_finite(int position)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("sparse vector values must be finite (position %d)", position + 1)));
}

static void
check_sparse(int length, const int32 *indices, const float4 *values)
{
	for (int k = 0; k < length; k++)
	{
		if (k > 0 && indices[k] <= indices[k - 1])
			not_ascending(k, indices[k - 1], indices[k]);
		if (!isfinite(values[k]))
			not_finite(k);
	}
}

/* Indices below this bound let a repeated right-hand vector be expanded (4 bytes each). */
#define DENSE_LIMIT 262144

/*
 * The right-hand vector of the previous call, kept across the calls of one query
 * (fn_extra). A search compares every stored vector with the same query vector; once
 * it repeats, it is expanded into a dense array, and a call is then one lookup per
 * stored index instead of a merge with a data-dependent branch per step (several
 * times faster). The sum is the same, in the same order: the products at the shared
 * indices in ascending order, plus zeros (finite values times 0) for the others.
 */
typedef struct SparseQueryCache
{
	int			length;
	int32	   *indices;
	float4	   *values;
	bool		repeated;		/* seen by more than one call */
	int32		dense_length;	/* entries of dense; dense is NULL when not expanded */
	float4	   *dense;
} SparseQueryCache;

static bool
cache_holds(const SparseQueryCache *cache, int length, const int32 *indices,
			const float4 *values)
{
	return cache != NULL && cache->length == length
		&& memcmp(cache->indices, indices, sizeof(int32) * length) == 0
		&& memcmp(cache->values, values, sizeof(float4) * length) == 0;
}

/* The right-hand vector, checked when it is new and expanded when it repeats. */
static SparseQueryCache *
remember(FunctionCallInfo fcinfo, int length, const int32 *indices, const float4 *values)
{
	SparseQueryCache *cache = (SparseQueryCache *) fcinfo->flinfo->fn_extra;
	MemoryContext context = fcinfo->flinfo->fn_mcxt;

	if (cache_holds(cache, length, indices, values))
	{
		if (!cache->repeated)
		{
			cache->repeated = true;
			if (length > 0 && indices[0] >= 0 && indices[length - 1] < DENSE_LIMIT)
			{
				cache->dense_length = indices[length - 1] + 1;
				cache->dense = (float4 *) MemoryContextAllocZero(
					context, sizeof(float4) * cache->dense_length);
				for (int k = 0; k < length; k++)
					cache->dense[indices[k]] = values[k];
			}
		}
		return cache;
	}
	check_sparse(length, indices, values);
	if (cache != NULL)
	{
		pfree(cache->indices);
		pfree(cache->values);
		if (cache->dense != NULL)
			pfree(cache->dense);
	}
	else
		cache = (SparseQueryCache *) MemoryContextAlloc(context, sizeof(SparseQueryCache));
	cache->length = length;
	cache->indices = (int32 *) MemoryContextAlloc(context, sizeof(int32) * Max(length, 1));
	cache->values = (float4 *) MemoryContextAlloc(context, sizeof(float4) * Max(length, 1));
	memcpy(cache->indices, indices, sizeof(int32) * length);
	memcpy(cache->values, values, sizeof(float4) * length);
	cache->repeated = false;
	cache->dense_length = 0;
	cache->dense = NULL;
	fcinfo->flinfo->fn_extra = cache;
	return cache;
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
	SparseQueryCache *cache = remember(fcinfo, y_length, yi, yv);
	double		dot = 0.0;

	if (cache->dense != NULL)
	{
		const float4 *dense = cache->dense;
		uint32		limit = (uint32) cache->dense_length;

		for (int i = 0; i < x_length; i++)
		{
			if (i > 0 && xi[i] <= xi[i - 1])
				not_ascending(i, xi[i - 1], xi[i]);
			if (!isfinite(xv[i]))
				not_finite(i);
			/* a negative index wraps above the limit: no weight there */
			if ((uint32) xi[i] < limit)
				dot += (double) xv[i] * (double) dense[xi[i]];
		}
		PG_RETURN_FLOAT4((float4) dot);
	}

	check_sparse(x_length, xi, xv);
	for (int i = 0, j = 0; i < x_length && j < y_length;)
	{
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
	PG_RETURN_FLOAT4((float4) dot);
}
