/* horde.http._fast: the bookkeeping of Client.fast's common response, in one C call.
 *
 * configure(container_cls, response_cls) gives it horde.metrics.ConnectedSamples and
 * horde.http.Response (whose __slots__ must be exactly RESPONSE_SLOTS below).
 *
 * finish(vu, route, raw, discard_bodies) does what Client.fast does in Python after the transport's answer
 * (the reference, which tests/http/test_fast_bookkeeping.py compares it with) for a response with the default
 * response callback: when `raw` is no redirect, sets no cookie, is not content-encoded (raw.special
 * is False) and the route already holds the tag set of (vu.tags, status, proto, tls_version,
 * expected), it adds the response's bytes to the VU's counters, emits the 9 request metrics
 * (vu.emit(ConnectedSamples(...))) and returns the Response. Otherwise it returns None having
 * changed nothing, and Python goes on.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <math.h>
#include <time.h>

#include "_slots.h"

static PyObject *container_cls = NULL;
static PyTypeObject *response_cls = NULL;

static const char *RESPONSE_SLOTS[] = {
    "status", "_status_text", "proto", "_headers", "body", "url", "tls_version", "error", "error_code",
    "request", "remote_ip", "remote_port", "_timings", "_cookies", "_set_cookies", "_raw", NULL,
};
enum {
    R_STATUS, R_STATUS_TEXT, R_PROTO, R_HEADERS, R_BODY, R_URL, R_TLS_VERSION, R_ERROR, R_ERROR_CODE,
    R_REQUEST, R_REMOTE_IP, R_REMOTE_PORT, R_TIMINGS, R_COOKIES, R_SET_COOKIES, R_RAW, R_COUNT,
};
static Py_ssize_t response_offsets[R_COUNT];

/* interned attribute names */
static PyObject *s_status, *s_special, *s_proto, *s_tls_version, *s_bytes_sent, *s_bytes_received, *s_timings,
    *s_body, *s_remote_ip, *s_remote_port, *s_tags, *s_builtin, *s_http_request, *s_metadata, *s_emit, *s_url,
    *s_info, *s_empty;

static PyObject *
configure(PyObject *module, PyObject *args)
{
    PyObject *cont, *resp;
    Py_ssize_t offsets[R_COUNT];
    if (!PyArg_ParseTuple(args, "OO!:configure", &cont, &PyType_Type, &resp))
        return NULL;
    if (slot_offsets(resp, RESPONSE_SLOTS, R_COUNT, offsets, 1) < 0)
        return NULL;
    memcpy(response_offsets, offsets, sizeof(offsets));
    Py_XSETREF(container_cls, Py_NewRef(cont));
    Py_XSETREF(response_cls, (PyTypeObject *)Py_NewRef(resp));
    Py_RETURN_NONE;
}

/* vu.<name> += raw.<name> */
static int
add_to(PyObject *vu, PyObject *raw, PyObject *name)
{
    PyObject *add, *old, *sum;
    int rc;
    if ((add = PyObject_GetAttr(raw, name)) == NULL)
        return -1;
    if ((old = PyObject_GetAttr(vu, name)) == NULL) {
        Py_DECREF(add);
        return -1;
    }
    sum = PyNumber_Add(old, add);
    Py_DECREF(old);
    Py_DECREF(add);
    if (sum == NULL)
        return -1;
    rc = PyObject_SetAttr(vu, name, sum);
    Py_DECREF(sum);
    return rc;
}

static PyObject *
finish(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *vu, *route, *raw, *result = NULL;
    PyObject *status = NULL, *special = NULL, *proto = NULL, *tls = NULL, *vu_tags = NULL, *key = NULL;
    PyObject *route_tags = NULL, *tagset, *timings = NULL, *values = NULL, *now = NULL, *builtin = NULL;
    PyObject *metrics = NULL, *metadata = NULL, *container = NULL, *emit = NULL, *emitted = NULL, *x;
    PyObject *response = NULL;
    long code;
    int expected, discard, i;
    double b[6], duration;
    struct timespec ts;

    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "finish() takes 4 arguments (vu, route, raw, discard_bodies)");
        return NULL;
    }
    if (response_cls == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "finish(): configure() was not called");
        return NULL;
    }
    vu = args[0];
    route = args[1];
    raw = args[2];
    discard = PyObject_IsTrue(args[3]);
    if (discard < 0)
        return NULL;

    /* the checks: nothing changes before all of them pass */
    special = PyObject_GetAttr(raw, s_special);
    if (special == NULL)
        return NULL;
    if (special != Py_False)
        goto none;
    status = PyObject_GetAttr(raw, s_status);
    if (status == NULL)
        goto done;
    if (!PyLong_CheckExact(status))
        goto none;
    code = PyLong_AsLong(status);
    if (code == -1 && PyErr_Occurred())
        goto done;
    if (code == 301 || code == 302 || code == 303 || code == 307 || code == 308)
        goto none;
    expected = 200 <= code && code <= 399;
    if ((proto = PyObject_GetAttr(raw, s_proto)) == NULL || (tls = PyObject_GetAttr(raw, s_tls_version)) == NULL ||
        (vu_tags = PyObject_GetAttr(vu, s_tags)) == NULL || (route_tags = PyObject_GetAttr(route, s_tags)) == NULL)
        goto done;
    if (!PyDict_CheckExact(route_tags))
        goto none;
    key = PyTuple_Pack(5, vu_tags, status, proto, tls, expected ? Py_True : Py_False);
    if (key == NULL)
        goto done;
    tagset = PyDict_GetItemWithError(route_tags, key); /* borrowed */
    if (tagset == NULL) {
        if (PyErr_Occurred())
            goto done;
        goto none;
    }
    Py_INCREF(tagset);
    timings = PyObject_GetAttr(raw, s_timings);
    if (timings == NULL) {
        Py_DECREF(tagset);
        goto done;
    }
    if (!PyTuple_CheckExact(timings) || PyTuple_GET_SIZE(timings) != 6) {
        Py_DECREF(tagset);
        goto none;
    }
    for (i = 0; i < 6; i++) {
        x = PyTuple_GET_ITEM(timings, i);
        if (!PyFloat_CheckExact(x)) {
            Py_DECREF(tagset);
            goto none;
        }
        b[i] = PyFloat_AS_DOUBLE(x);
    }

    /* the bookkeeping */
    if (add_to(vu, raw, s_bytes_sent) < 0 || add_to(vu, raw, s_bytes_received) < 0) {
        Py_DECREF(tagset);
        goto done;
    }
    /* k6 adds sending + waiting + receiving at nanosecond resolution: round half to even, as Python's round() */
    duration = nearbyint((b[3] + b[4] + b[5]) * 1e6) / 1e6;
    values = PyTuple_New(9);
    if (values == NULL) {
        Py_DECREF(tagset);
        goto done;
    }
    PyTuple_SET_ITEM(values, 0, PyFloat_FromDouble(1.0));
    PyTuple_SET_ITEM(values, 1, PyFloat_FromDouble(duration));
    for (i = 0; i < 6; i++)
        PyTuple_SET_ITEM(values, 2 + i, Py_NewRef(PyTuple_GET_ITEM(timings, i)));
    PyTuple_SET_ITEM(values, 8, PyFloat_FromDouble(expected ? 0.0 : 1.0));
    if (PyTuple_GET_ITEM(values, 0) == NULL || PyTuple_GET_ITEM(values, 1) == NULL ||
        PyTuple_GET_ITEM(values, 8) == NULL) {
        Py_DECREF(tagset);
        goto done;
    }
    clock_gettime(CLOCK_REALTIME, &ts); /* time.time_ns() */
    now = PyLong_FromLongLong((long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    if (now == NULL || (builtin = PyObject_GetAttr(vu, s_builtin)) == NULL ||
        (metrics = PyObject_GetAttr(builtin, s_http_request)) == NULL ||
        (metadata = PyObject_GetAttr(vu, s_metadata)) == NULL) {
        Py_DECREF(tagset);
        goto done;
    }
    {
        PyObject *cargs[5] = {metrics, values, now, tagset, metadata};
        container = PyObject_Vectorcall(container_cls, cargs, 5, NULL);
    }
    Py_DECREF(tagset); /* the container holds it */
    if (container == NULL || (emit = PyObject_GetAttr(vu, s_emit)) == NULL)
        goto done;
    emitted = PyObject_CallOneArg(emit, container);
    if (emitted == NULL)
        goto done;

    /* the Response, its slots filled as Client.fast's Response(...) call fills them */
    response = response_cls->tp_alloc(response_cls, 0);
    if (response == NULL)
        goto done;
    {
        PyObject *fields[R_COUNT];
        memset(fields, 0, sizeof(fields));
        fields[R_STATUS] = Py_NewRef(status);
        fields[R_STATUS_TEXT] = Py_NewRef(Py_None);
        fields[R_PROTO] = Py_NewRef(proto);
        fields[R_HEADERS] = Py_NewRef(Py_None);
        fields[R_BODY] = discard ? Py_NewRef(Py_None) : PyObject_GetAttr(raw, s_body);
        fields[R_REQUEST] = PyObject_GetAttr(route, s_info);
        fields[R_URL] = fields[R_REQUEST] == NULL ? NULL : PyObject_GetAttr(fields[R_REQUEST], s_url); /* target.url */
        fields[R_TLS_VERSION] = Py_NewRef(tls);
        fields[R_ERROR] = Py_NewRef(s_empty);
        fields[R_ERROR_CODE] = PyLong_FromLong(code >= 400 ? 1000 + code : 0);
        fields[R_REMOTE_IP] = PyObject_GetAttr(raw, s_remote_ip);
        fields[R_REMOTE_PORT] = PyObject_GetAttr(raw, s_remote_port);
        fields[R_TIMINGS] = Py_NewRef(timings);
        fields[R_COOKIES] = Py_NewRef(Py_None);
        fields[R_SET_COOKIES] = Py_NewRef(Py_None);
        fields[R_RAW] = Py_NewRef(raw);
        for (i = 0; i < R_COUNT; i++)
            *(PyObject **)((char *)response + response_offsets[i]) = fields[i];
        for (i = 0; i < R_COUNT; i++)
            if (fields[i] == NULL) { /* a failed getattr: the error is set */
                Py_CLEAR(response);
                goto done;
            }
    }
    result = response;
    goto done;
none:
    result = Py_NewRef(Py_None);
done:
    Py_XDECREF(special);
    Py_XDECREF(status);
    Py_XDECREF(proto);
    Py_XDECREF(tls);
    Py_XDECREF(vu_tags);
    Py_XDECREF(route_tags);
    Py_XDECREF(key);
    Py_XDECREF(timings);
    Py_XDECREF(values);
    Py_XDECREF(now);
    Py_XDECREF(builtin);
    Py_XDECREF(metrics);
    Py_XDECREF(metadata);
    Py_XDECREF(container);
    Py_XDECREF(emit);
    Py_XDECREF(emitted);
    return result;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, "configure(container_cls, response_cls): the classes finish() builds."},
    {"finish", (PyCFunction)(void (*)(void))finish, METH_FASTCALL,
     "finish(vu, route, raw, discard_bodies) -> the Response of a common response, or None (nothing done)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "horde.http._fast", "Client.fast's bookkeeping of the common response, in C.", -1, methods,
};

#define INTERN(var, text)                                                                                               \
    if ((var = PyUnicode_InternFromString(text)) == NULL)                                                               \
        return NULL;

PyMODINIT_FUNC
PyInit__fast(void)
{
    INTERN(s_status, "status");
    INTERN(s_special, "special");
    INTERN(s_proto, "proto");
    INTERN(s_tls_version, "tls_version");
    INTERN(s_bytes_sent, "bytes_sent");
    INTERN(s_bytes_received, "bytes_received");
    INTERN(s_timings, "timings");
    INTERN(s_body, "body");
    INTERN(s_remote_ip, "remote_ip");
    INTERN(s_remote_port, "remote_port");
    INTERN(s_tags, "tags");
    INTERN(s_builtin, "builtin");
    INTERN(s_http_request, "http_request");
    INTERN(s_metadata, "metadata");
    INTERN(s_emit, "emit");
    INTERN(s_url, "url");
    INTERN(s_info, "info");
    INTERN(s_empty, "");
    return PyModule_Create(&module);
}
