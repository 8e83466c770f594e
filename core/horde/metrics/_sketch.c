/* horde.metrics._sketch: what adding a column of values does to a trend sink, in one pass.
 *
 * summarize(values, inv_log_gamma, min_magnitude) takes a tuple of floats and returns
 * (min, max, zeros, positive buckets, negative buckets), exactly what horde.metrics.sinks._summary
 * computes in Python (which is the reference, and which tests/test_sketch.py compares it with):
 *
 *   min, max   the first of equal minima and of equal maxima, as the very objects of `values`
 *              (None, None when every value is NaN)
 *   zeros      NaNs plus values whose magnitude is at most min_magnitude
 *   buckets    {index: count} with index = ceil(log(magnitude) * inv_log_gamma), for the positive
 *              values above min_magnitude and for the magnitudes of the negative ones below -min_magnitude
 *
 * It returns None, and the Python code decides, for anything but exact floats and for infinities.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdlib.h>

#define DENSE_SPAN 65536 /* buckets counted in an array when the indices span at most this many */

static int
compare_index(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static int
put_count(PyObject *dict, long long index, Py_ssize_t count)
{
    PyObject *k = PyLong_FromLongLong(index), *v = PyLong_FromSsize_t(count);
    int rc = (k && v) ? PyDict_SetItem(dict, k, v) : -1;
    Py_XDECREF(k);
    Py_XDECREF(v);
    return rc;
}

static PyObject *
bucket_counts(long long *indices, Py_ssize_t k)
{
    /* {index: count} of indices[:k], in ascending index order */
    PyObject *dict = PyDict_New();
    long long lo, hi;
    Py_ssize_t i;
    if (dict == NULL || k == 0)
        return dict;
    lo = hi = indices[0];
    for (i = 1; i < k; i++) {
        if (indices[i] < lo)
            lo = indices[i];
        if (indices[i] > hi)
            hi = indices[i];
    }
    if (hi - lo < DENSE_SPAN) {
        Py_ssize_t span = (Py_ssize_t)(hi - lo + 1), j;
        Py_ssize_t *counts = PyMem_Calloc((size_t)span, sizeof(Py_ssize_t));
        if (counts == NULL) {
            Py_DECREF(dict);
            return PyErr_NoMemory();
        }
        for (i = 0; i < k; i++)
            counts[indices[i] - lo]++;
        for (j = 0; j < span; j++) {
            if (counts[j] && put_count(dict, lo + j, counts[j]) < 0) {
                PyMem_Free(counts);
                Py_DECREF(dict);
                return NULL;
            }
        }
        PyMem_Free(counts);
        return dict;
    }
    qsort(indices, (size_t)k, sizeof(long long), compare_index);
    for (i = 0; i < k;) {
        Py_ssize_t run = i;
        while (run < k && indices[run] == indices[i])
            run++;
        if (put_count(dict, indices[i], run - i) < 0) {
            Py_DECREF(dict);
            return NULL;
        }
        i = run;
    }
    return dict;
}

static PyObject *
summarize(PyObject *module, PyObject *args)
{
    PyObject *values, *pos = NULL, *neg = NULL, *result = NULL;
    double inv_log_gamma, min_magnitude, lo = 0, hi = 0;
    Py_ssize_t n, i, lo_at = -1, hi_at = -1, zeros = 0, npos = 0, nneg = 0;
    long long *positive, *negative;

    if (!PyArg_ParseTuple(args, "O!dd:summarize", &PyTuple_Type, &values, &inv_log_gamma, &min_magnitude))
        return NULL;
    n = PyTuple_GET_SIZE(values);
    positive = PyMem_Malloc(sizeof(long long) * (size_t)(n ? n : 1));
    negative = PyMem_Malloc(sizeof(long long) * (size_t)(n ? n : 1));
    if (positive == NULL || negative == NULL) {
        PyMem_Free(positive);
        PyMem_Free(negative);
        return PyErr_NoMemory();
    }
    for (i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(values, i);
        double v;
        if (!PyFloat_CheckExact(item))
            goto decline;
        v = PyFloat_AS_DOUBLE(item);
        if (isnan(v)) {
            zeros++; /* never a min or max; counts as zero */
            continue;
        }
        if (isinf(v))
            goto decline;
        if (lo_at < 0 || v < lo) {
            lo = v;
            lo_at = i;
        }
        if (hi_at < 0 || v > hi) {
            hi = v;
            hi_at = i;
        }
        if (v > min_magnitude)
            positive[npos++] = (long long)ceil(log(v) * inv_log_gamma);
        else if (v < -min_magnitude)
            negative[nneg++] = (long long)ceil(log(-v) * inv_log_gamma);
        else
            zeros++;
    }
    pos = bucket_counts(positive, npos);
    neg = pos ? bucket_counts(negative, nneg) : NULL;
    if (pos && neg) {
        if (lo_at < 0)
            result = Py_BuildValue("(OOnOO)", Py_None, Py_None, zeros, pos, neg);
        else
            result = Py_BuildValue("(OOnOO)", PyTuple_GET_ITEM(values, lo_at), PyTuple_GET_ITEM(values, hi_at),
                                   zeros, pos, neg);
    }
    Py_XDECREF(pos);
    Py_XDECREF(neg);
    PyMem_Free(positive);
    PyMem_Free(negative);
    return result;

decline:
    PyMem_Free(positive);
    PyMem_Free(negative);
    Py_RETURN_NONE;
}

static PyMethodDef sketch_methods[] = {
    {"summarize", summarize, METH_VARARGS,
     "summarize(values, inv_log_gamma, min_magnitude) -> (min, max, zeros, positive buckets, negative "
     "buckets) of a tuple of floats, or None (not all floats, or an infinity)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef sketch_module = {
    PyModuleDef_HEAD_INIT, "horde.metrics._sketch",
    "What adding a column of values does to a trend sink, in one pass (see summarize).", -1, sketch_methods,
};

PyMODINIT_FUNC
PyInit__sketch(void)
{
    return PyModule_Create(&sketch_module);
}
