/* horde.metrics._connected: the fields of horde.metrics.ConnectedSamples, and a batch of them built at once.
 *
 * Fields(metrics, values, time, tags, metadata=None) holds the five references of a sample container
 * (horde.metrics.sample.ConnectedSamples subclasses it and adds the methods); they stay writable.
 * A container is not tracked by the garbage collector: it refers to metrics, values, a time, a tag set and
 * metadata, none of which refers to a container, so it is never part of a reference cycle. Fields is not a
 * GC type, and an instance of a subclass adding no field (which CPython still makes a GC type) is untracked
 * as soon as it is made (untrack()). The collector then neither counts the hundreds of thousands made per
 * second (its young generation is scanned less often) nor scans those an output still holds.
 *
 * build(cls, metrics, values, k, times, tags, metadata) returns len(times) instances of `cls` (a subclass
 * of Fields adding no field) sharing `metrics`: the i-th has time times[i], tag set tags[i], metadata
 * metadata[i] (or None when `metadata` is None) and, for k > 0, values values[i*k:(i+1)*k] of the flat
 * tuple `values`; for k == 0, values[i]. It is what horde.metrics.wire.Columns.containers() builds in
 * Python when this module is missing, without a Python __init__ call per container.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

typedef struct {
    PyObject_HEAD
    PyObject *metrics;
    PyObject *values;
    PyObject *time;
    PyObject *tags;
    PyObject *metadata;
} Fields;

static PyTypeObject FieldsType;

/* Untrack a new container of a GC subclass that adds no field (see the module's docstring): an instance with
 * a __dict__, a __weakref__ or slots of its own may refer to anything, and stays tracked. */
static inline PyObject *
untrack(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    if (PyType_IS_GC(type) && type->tp_basicsize == FieldsType.tp_basicsize && type->tp_dictoffset == 0 &&
        type->tp_weaklistoffset == 0)
        PyObject_GC_UnTrack(self);
    return self;
}

static PyObject *
fields_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *names[] = {"metrics", "values", "time", "tags", "metadata", NULL};
    PyObject *metrics, *values, *time, *tags, *metadata = Py_None;
    Fields *self;
    Py_ssize_t nargs = PyTuple_GET_SIZE(args);
    if (kwds == NULL && (nargs == 4 || nargs == 5)) { /* the hot path: positional arguments */
        metrics = PyTuple_GET_ITEM(args, 0);
        values = PyTuple_GET_ITEM(args, 1);
        time = PyTuple_GET_ITEM(args, 2);
        tags = PyTuple_GET_ITEM(args, 3);
        if (nargs == 5)
            metadata = PyTuple_GET_ITEM(args, 4);
    } else if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOO|O:ConnectedSamples", names, &metrics, &values, &time, &tags,
                                     &metadata))
        return NULL;
    self = (Fields *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->metrics = Py_NewRef(metrics);
    self->values = Py_NewRef(values);
    self->time = Py_NewRef(time);
    self->tags = Py_NewRef(tags);
    self->metadata = Py_NewRef(metadata);
    return untrack((PyObject *)self);
}

static void
fields_dealloc(Fields *self)
{
    Py_CLEAR(self->metrics);
    Py_CLEAR(self->values);
    Py_CLEAR(self->time);
    Py_CLEAR(self->tags);
    Py_CLEAR(self->metadata);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef fields_members[] = {
    {"metrics", T_OBJECT_EX, offsetof(Fields, metrics), 0, "The metrics, one per value."},
    {"values", T_OBJECT_EX, offsetof(Fields, values), 0, "The values, one per metric."},
    {"time", T_OBJECT_EX, offsetof(Fields, time), 0, "Unix time in nanoseconds."},
    {"tags", T_OBJECT_EX, offsetof(Fields, tags), 0, "The tag set."},
    {"metadata", T_OBJECT_EX, offsetof(Fields, metadata), 0, "Metadata, or None."},
    {NULL},
};

static PyTypeObject FieldsType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "horde.metrics._connected.Fields",
    .tp_doc = PyDoc_STR("The five fields of a sample container (metrics, values, time, tags, metadata)."),
    .tp_basicsize = sizeof(Fields),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = fields_new,
    .tp_dealloc = (destructor)fields_dealloc,
    .tp_members = fields_members,
};

static PyObject *
build(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    PyTypeObject *cls;
    PyObject *metrics, *values, *times, *tags, *metadata, *out;
    Py_ssize_t k, n, i, nvalues;
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "build() takes 7 arguments (cls, metrics, values, k, times, tags, metadata)");
        return NULL;
    }
    if (!PyType_Check(args[0]) || !PyType_IsSubtype((PyTypeObject *)args[0], &FieldsType) ||
        ((PyTypeObject *)args[0])->tp_basicsize != FieldsType.tp_basicsize) {
        PyErr_SetString(PyExc_TypeError, "build(): cls must be a subclass of Fields adding no field");
        return NULL;
    }
    cls = (PyTypeObject *)args[0];
    metrics = args[1];
    values = args[2];
    k = PyLong_AsSsize_t(args[3]);
    if (k == -1 && PyErr_Occurred())
        return NULL;
    times = args[4];
    tags = args[5];
    metadata = args[6];
    if (!PyList_CheckExact(times) || !PyList_CheckExact(tags) || !(metadata == Py_None || PyList_CheckExact(metadata))) {
        PyErr_SetString(PyExc_TypeError, "build(): times, tags and metadata must be lists (metadata may be None)");
        return NULL;
    }
    n = PyList_GET_SIZE(times);
    if (k < 0 || PyList_GET_SIZE(tags) != n || (metadata != Py_None && PyList_GET_SIZE(metadata) != n)) {
        PyErr_SetString(PyExc_ValueError, "build(): times, tags and metadata must have one item per container");
        return NULL;
    }
    if (k > 0) {
        if (!PyTuple_CheckExact(values) || PyTuple_GET_SIZE(values) != n * k) {
            PyErr_SetString(PyExc_ValueError, "build(): values must be a tuple of k values per container");
            return NULL;
        }
    } else {
        if (!PyList_CheckExact(values) && !PyTuple_CheckExact(values)) {
            PyErr_SetString(PyExc_TypeError, "build(): values must be a list or tuple of one sequence per container");
            return NULL;
        }
        nvalues = PySequence_Fast_GET_SIZE(values);
        if (nvalues != n) {
            PyErr_SetString(PyExc_ValueError, "build(): values must hold one sequence per container");
            return NULL;
        }
    }
    out = PyList_New(n);
    if (out == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        Fields *c;
        PyObject *v;
        if (k > 0) {
            Py_ssize_t j;
            v = PyTuple_New(k);
            if (v == NULL)
                goto fail;
            int atomic = 1;
            for (j = 0; j < k; j++) {
                PyObject *value = PyTuple_GET_ITEM(values, i * k + j);
                atomic &= !PyObject_GC_IsTracked(value);
                PyTuple_SET_ITEM(v, j, Py_NewRef(value));
            }
            if (atomic) /* numbers only: untracked now, as the collector would on its first scan */
                PyObject_GC_UnTrack(v);
        } else {
            v = Py_NewRef(PySequence_Fast_GET_ITEM(values, i));
        }
        c = (Fields *)cls->tp_alloc(cls, 0);
        if (c == NULL) {
            Py_DECREF(v);
            goto fail;
        }
        c->metrics = Py_NewRef(metrics);
        c->values = v;
        c->time = Py_NewRef(PyList_GET_ITEM(times, i));
        c->tags = Py_NewRef(PyList_GET_ITEM(tags, i));
        c->metadata = Py_NewRef(metadata == Py_None ? Py_None : PyList_GET_ITEM(metadata, i));
        PyList_SET_ITEM(out, i, untrack((PyObject *)c));
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"build", (PyCFunction)(void (*)(void))build, METH_FASTCALL,
     "build(cls, metrics, values, k, times, tags, metadata) -> a list of containers sharing metrics."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "horde.metrics._connected",
    "The fields of horde.metrics.ConnectedSamples in C, and a batch of containers built at once.", -1, methods,
};

PyMODINIT_FUNC
PyInit__connected(void)
{
    PyObject *m;
    if (PyType_Ready(&FieldsType) < 0)
        return NULL;
    m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&FieldsType);
    if (PyModule_AddObject(m, "Fields", (PyObject *)&FieldsType) < 0) {
        Py_DECREF(&FieldsType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
