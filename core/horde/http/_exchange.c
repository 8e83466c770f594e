/* horde.http._exchange: a keep-alive connection's exchange state, and its pooled exchange, in C.
 *
 * Conn is the base of horde.http.h1's connection protocol (h1._FastConn): the fields an exchange
 * reads and writes are C fields, which h1's Python code reads and writes as attributes.
 * Conn.data_received reads a whole plain response that arrives in the exchange's first read with
 * horde.http._scan's scanner and completes the exchange's waiter; any other bytes go to the
 * protocol's Python _read(data).
 *
 * configure(request_cls, response_cls) gives it horde.http.transport's RawRequest and RawResponse
 * (whose __slots__ must be exactly RESPONSE_SLOTS below).
 *
 * begin(idle, request) starts `request` on a pooled connection: `idle` is H1Transport._idle, lists of
 * idle connections by (scheme, host, port). It returns the connection, its request written and its
 * `waiter` future to await (`t_sent` is 0 when the write paused the transport: wait until it
 * drains), or None having changed nothing but dropped closed connections: no idle connection, a
 * request with a body, queued (t_start) or never sent before (no `head`), a paused connection.
 * h1's Python path then sends it.
 * finish(conn) ends an exchange whose waiter completed: it returns the RawResponse and puts the
 * connection back in its pool, or closes it.
 *
 * H1Transport._send, _Conn.data_received and _end_exchange in h1.py are the reference: every HTTP
 * test runs with this module and without it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <math.h>
#include <time.h>

#include "_slots.h"

typedef Py_ssize_t (*scan_fn)(const char *, Py_ssize_t, int *, int *, int *);
static scan_fn scan = NULL; /* horde.http._scan's scanner */

static PyTypeObject *request_type = NULL, *response_type = NULL;

static const char *REQUEST_SLOTS[] = {"method", "scheme", "host", "port", "body", "timeout", "t_start", "head", NULL};
enum { Q_METHOD, Q_SCHEME, Q_HOST, Q_PORT, Q_BODY, Q_TIMEOUT, Q_T_START, Q_HEAD, Q_COUNT };
static Py_ssize_t request_offsets[Q_COUNT];

static const char *RESPONSE_SLOTS[] = {
    "status", "_reason", "proto", "_headers", "body", "timings", "tls_version", "bytes_sent", "bytes_received",
    "remote_ip", "remote_port", "head", "special", NULL,
};
enum {
    R_STATUS, R_REASON, R_PROTO, R_HEADERS, R_BODY, R_TIMINGS, R_TLS_VERSION, R_BYTES_SENT, R_BYTES_RECEIVED,
    R_REMOTE_IP, R_REMOTE_PORT, R_HEAD, R_SPECIAL, R_COUNT,
};
static Py_ssize_t response_offsets[R_COUNT];

#define SLOT(obj, offset) (*(PyObject **)((char *)(obj) + (offset)))
#define MAX_TIMEOUT 1e9 /* seconds, as h1._MAX_TIMEOUT */

static PyObject *s_read, *s_done, *s_set_result, *s_create_future, *s_arm, *s_write, *s_close, *s_response, *s_join,
    *s_head_method, *s_http11, *s_empty;

static long long
now_ns(void)
{
    /* time.perf_counter_ns(): CPython reads CLOCK_MONOTONIC for it on Linux */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

typedef struct {
    PyObject_HEAD
    PyObject *loop, *tr, *waiter, *timer, *tls_version, *remote_ip, *head, *special, *body, *pool, *pre;
    long long deadline, timer_at, t0, t_ready, t_sent, t_first, t_end;
    Py_ssize_t sent, nrecv, max_idle;
    int status, remote_port;
    char closed, paused, reuse, head_only, headers_done, complete, keep_alive;
} Conn;

#define OBJ(name, doc) {#name, T_OBJECT, offsetof(Conn, name), 0, doc}
static PyMemberDef conn_members[] = {
    OBJ(loop, "the event loop of the connection"),
    OBJ(tr, "the asyncio transport, once connected"),
    OBJ(waiter, "the future of the exchange in flight (None: idle)"),
    OBJ(timer, "the deadline timer, when armed"),
    OBJ(tls_version, "e.g. 'tls1.3', or None"),
    OBJ(remote_ip, "the server's address"),
    OBJ(head, "the head of the response, when the scanner read it"),
    OBJ(special, "whether the response sets cookies, is encoded or redirects (None: not scanned)"),
    OBJ(body, "the body's parts, or None"),
    OBJ(pool, "the idle list the connection returns to after the exchange"),
    OBJ(pre, "(blocked, connecting, tls_handshaking) of a new connection, or None: blocked from t0 to t_ready"),
    {"deadline", T_LONGLONG, offsetof(Conn, deadline), 0, "the exchange's deadline (perf_counter_ns; 0: none)"},
    {"timer_at", T_LONGLONG, offsetof(Conn, timer_at), 0, "when the timer fires (perf_counter_ns)"},
    {"t0", T_LONGLONG, offsetof(Conn, t0), 0, "when the request began to wait (perf_counter_ns)"},
    {"t_ready", T_LONGLONG, offsetof(Conn, t_ready), 0, "when the connection was in hand"},
    {"t_sent", T_LONGLONG, offsetof(Conn, t_sent), 0, "when the request was written (0: not yet)"},
    {"t_first", T_LONGLONG, offsetof(Conn, t_first), 0, "when the first response byte arrived (0: not yet)"},
    {"t_end", T_LONGLONG, offsetof(Conn, t_end), 0, "when the last response byte arrived"},
    {"sent", T_PYSSIZET, offsetof(Conn, sent), 0, "bytes written for the exchange"},
    {"nrecv", T_PYSSIZET, offsetof(Conn, nrecv), 0, "bytes read for the exchange"},
    {"max_idle", T_PYSSIZET, offsetof(Conn, max_idle), 0, "how many idle connections the pool keeps"},
    {"status", T_INT, offsetof(Conn, status), 0, "the response's status"},
    {"remote_port", T_INT, offsetof(Conn, remote_port), 0, "the server's port"},
    {"closed", T_BOOL, offsetof(Conn, closed), 0, "whether the connection is closed"},
    {"paused", T_BOOL, offsetof(Conn, paused), 0, "whether the transport asked to pause writing"},
    {"reuse", T_BOOL, offsetof(Conn, reuse), 0, "whether the connection may go back to the pool"},
    {"head_only", T_BOOL, offsetof(Conn, head_only), 0, "whether the exchange is a HEAD request"},
    {"headers_done", T_BOOL, offsetof(Conn, headers_done), 0, "whether the response's head is complete"},
    {"complete", T_BOOL, offsetof(Conn, complete), 0, "whether the response is complete"},
    {"keep_alive", T_BOOL, offsetof(Conn, keep_alive), 0, "whether the response keeps the connection open"},
    {NULL},
};

#define CONN_OBJECTS(self) \
    self->loop, self->tr, self->waiter, self->timer, self->tls_version, self->remote_ip, self->head, self->special, \
        self->body, self->pool, self->pre

static int
conn_traverse(Conn *self, visitproc visit, void *arg)
{
    PyObject *fields[] = {CONN_OBJECTS(self)};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        Py_VISIT(fields[i]);
    return 0;
}

static int
conn_clear(Conn *self)
{
    Py_CLEAR(self->loop);
    Py_CLEAR(self->tr);
    Py_CLEAR(self->waiter);
    Py_CLEAR(self->timer);
    Py_CLEAR(self->tls_version);
    Py_CLEAR(self->remote_ip);
    Py_CLEAR(self->head);
    Py_CLEAR(self->special);
    Py_CLEAR(self->body);
    Py_CLEAR(self->pool);
    Py_CLEAR(self->pre);
    return 0;
}

static void
conn_dealloc(Conn *self)
{
    PyObject_GC_UnTrack(self);
    conn_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* waiter.set_result(None) unless it is done */
static int
complete_waiter(PyObject *waiter)
{
    PyObject *done = PyObject_CallMethodNoArgs(waiter, s_done), *r;
    if (done == NULL)
        return -1;
    if (done == Py_False) {
        r = PyObject_CallMethodOneArg(waiter, s_set_result, Py_None);
        if (r == NULL) {
            Py_DECREF(done);
            return -1;
        }
        Py_DECREF(r);
    }
    Py_DECREF(done);
    return 0;
}

static PyObject *
conn_data_received(Conn *self, PyObject *data)
{
    if (self->waiter != NULL && self->waiter != Py_None && self->t_first == 0 && !self->head_only &&
        PyBytes_CheckExact(data)) {
        long long t_first = now_ns();
        const char *s = PyBytes_AS_STRING(data);
        Py_ssize_t n = PyBytes_GET_SIZE(data), end;
        int status, keep_alive, special;
        end = scan(s, n, &status, &keep_alive, &special);
        if (end >= 0) { /* one whole plain response in one read: no parser, no callbacks */
            PyObject *head, *body, *parts, *waiter;
            int rc;
            if ((head = PyBytes_FromStringAndSize(s, end)) == NULL)
                return NULL;
            body = PyBytes_FromStringAndSize(s + end + 4, n - end - 4);
            parts = body == NULL ? NULL : PyList_New(1);
            if (parts == NULL) {
                Py_DECREF(head);
                Py_XDECREF(body);
                return NULL;
            }
            PyList_SET_ITEM(parts, 0, body);
            self->t_first = t_first;
            self->nrecv = n;
            self->status = status;
            self->keep_alive = (char)keep_alive;
            Py_XSETREF(self->special, Py_NewRef(special ? Py_True : Py_False));
            Py_XSETREF(self->head, head);
            Py_XSETREF(self->body, parts);
            self->headers_done = self->complete = 1;
            self->t_end = now_ns();
            waiter = Py_NewRef(self->waiter);
            rc = complete_waiter(waiter);
            Py_DECREF(waiter);
            if (rc < 0)
                return NULL;
            Py_RETURN_NONE;
        }
    }
    return PyObject_CallMethodOneArg((PyObject *)self, s_read, data);
}

static PyMethodDef conn_methods[] = {
    {"data_received", (PyCFunction)conn_data_received, METH_O,
     "Read a whole plain response arriving in one read; anything else goes to self._read(data)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ConnType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "horde.http._exchange.Conn",
    .tp_doc = "A connection's exchange state as C fields (the base of horde.http.h1's connection protocol).",
    .tp_basicsize = sizeof(Conn),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)conn_dealloc,
    .tp_traverse = (traverseproc)conn_traverse,
    .tp_clear = (inquiry)conn_clear,
    .tp_members = conn_members,
    .tp_methods = conn_methods,
};

static PyObject *
configure(PyObject *module, PyObject *args)
{
    PyObject *req, *resp;
    Py_ssize_t q[Q_COUNT], r[R_COUNT];
    if (!PyArg_ParseTuple(args, "O!O!:configure", &PyType_Type, &req, &PyType_Type, &resp))
        return NULL;
    if (slot_offsets(req, REQUEST_SLOTS, Q_COUNT, q, 0) < 0 || slot_offsets(resp, RESPONSE_SLOTS, R_COUNT, r, 1) < 0)
        return NULL;
    memcpy(request_offsets, q, sizeof(q));
    memcpy(response_offsets, r, sizeof(r));
    Py_XSETREF(request_type, (PyTypeObject *)Py_NewRef(req));
    Py_XSETREF(response_type, (PyTypeObject *)Py_NewRef(resp));
    Py_RETURN_NONE;
}

static PyObject *
begin(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    long long t0 = now_ns(), deadline;
    PyObject *idle_map, *req, *head, *body, *t_start, *timeout_o, *method, *scheme, *host, *port, *key, *idle, *fut, *r;
    Conn *conn;
    Py_ssize_t n;
    double timeout;

    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "begin() takes 2 arguments (idle, request)");
        return NULL;
    }
    if (request_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "begin(): configure() was not called");
        return NULL;
    }
    idle_map = args[0];
    req = args[1];
    if (!Py_IS_TYPE(req, request_type) || !PyDict_CheckExact(idle_map))
        Py_RETURN_NONE;
    head = SLOT(req, request_offsets[Q_HEAD]);
    body = SLOT(req, request_offsets[Q_BODY]);
    t_start = SLOT(req, request_offsets[Q_T_START]);
    timeout_o = SLOT(req, request_offsets[Q_TIMEOUT]);
    method = SLOT(req, request_offsets[Q_METHOD]);
    scheme = SLOT(req, request_offsets[Q_SCHEME]);
    host = SLOT(req, request_offsets[Q_HOST]);
    port = SLOT(req, request_offsets[Q_PORT]);
    if (head == NULL || !PyBytes_CheckExact(head) || body != Py_None || t_start == NULL || timeout_o == NULL ||
        !PyFloat_CheckExact(timeout_o) || method == NULL || !PyUnicode_CheckExact(method) || scheme == NULL ||
        host == NULL || port == NULL)
        Py_RETURN_NONE;
    if (!(PyFloat_CheckExact(t_start) && PyFloat_AS_DOUBLE(t_start) == 0.0))
        Py_RETURN_NONE; /* queued since then: Python counts the wait as blocked */
    timeout = PyFloat_AS_DOUBLE(timeout_o);
    if (isnan(timeout))
        Py_RETURN_NONE;
    if (timeout > MAX_TIMEOUT)
        timeout = MAX_TIMEOUT;

    key = PyTuple_Pack(3, scheme, host, port);
    if (key == NULL)
        return NULL;
    idle = PyDict_GetItemWithError(idle_map, key); /* borrowed */
    Py_DECREF(key);
    if (idle == NULL) {
        if (PyErr_Occurred())
            return NULL;
        Py_RETURN_NONE;
    }
    if (!PyList_CheckExact(idle))
        Py_RETURN_NONE;
    for (;;) { /* the last idle connection that is not closed (closed ones are dropped, as Python drops them) */
        PyObject *last;
        n = PyList_GET_SIZE(idle);
        if (n == 0)
            Py_RETURN_NONE;
        last = PyList_GET_ITEM(idle, n - 1);
        if (!PyObject_TypeCheck(last, &ConnType))
            Py_RETURN_NONE;
        if (!((Conn *)last)->closed)
            break;
        if (PyList_SetSlice(idle, n - 1, n, NULL) < 0)
            return NULL;
    }
    conn = (Conn *)PyList_GET_ITEM(idle, n - 1);
    if (conn->paused || conn->loop == NULL || conn->loop == Py_None || conn->tr == NULL || conn->tr == Py_None)
        Py_RETURN_NONE;
    Py_INCREF(conn);
    if (PyList_SetSlice(idle, n - 1, n, NULL) < 0) {
        Py_DECREF(conn);
        return NULL;
    }

    /* the state of a new exchange (see h1's _Conn.__init__ and H1Transport._send) */
    deadline = t0 + (long long)nearbyint(timeout * 1e9);
    conn->t0 = t0;
    conn->t_ready = now_ns();
    conn->t_sent = 0;
    Py_CLEAR(conn->pre);
    conn->head_only = PyUnicode_Compare(method, s_head_method) == 0;
    conn->t_first = 0;
    conn->nrecv = 0;
    conn->headers_done = conn->complete = 0;
    if ((fut = PyObject_CallMethodNoArgs(conn->loop, s_create_future)) == NULL)
        goto fail;
    Py_XSETREF(conn->waiter, fut);
    conn->deadline = deadline;
    if (conn->timer == NULL || conn->timer == Py_None || conn->timer_at > deadline) {
        PyObject *when = PyLong_FromLongLong(deadline);
        if (when == NULL)
            goto fail;
        r = PyObject_CallMethodOneArg((PyObject *)conn, s_arm, when);
        Py_DECREF(when);
        if (r == NULL)
            goto fail;
        Py_DECREF(r);
    }
    conn->sent = PyBytes_GET_SIZE(head);
    if ((r = PyObject_CallMethodOneArg(conn->tr, s_write, head)) == NULL)
        goto fail;
    Py_DECREF(r);
    conn->t_sent = conn->paused && !conn->closed ? 0 : now_ns();
    Py_XSETREF(conn->pool, Py_NewRef(idle));
    return (PyObject *)conn;
fail: /* as an exception in Python's send before its try: the connection is not returned to the pool */
    conn->deadline = 0;
    Py_CLEAR(conn->waiter);
    Py_DECREF(conn);
    return NULL;
}

static PyObject *
ms(long long ns)
{
    return PyFloat_FromDouble((double)ns / 1e6);
}

/* the RawResponse of a response the scanner read (h1's _Conn._response is the reference) */
static PyObject *
scanned_response(Conn *c)
{
    PyObject *res, *fields[R_COUNT], *body, *timings;
    long long t_first = c->t_first, t_sent = c->t_sent;
    int i;

    body = c->body;
    if (body == NULL || body == Py_None)
        body = Py_NewRef(s_empty);
    else if (PyList_CheckExact(body) && PyList_GET_SIZE(body) == 1)
        body = Py_NewRef(PyList_GET_ITEM(body, 0));
    else
        body = PyObject_CallMethodOneArg(s_empty, s_join, body);
    if (body == NULL)
        return NULL;
    timings = PyTuple_New(6);
    if (timings == NULL) {
        Py_DECREF(body);
        return NULL;
    }
    if (c->pre != NULL && PyTuple_CheckExact(c->pre) && PyTuple_GET_SIZE(c->pre) == 3) {
        for (i = 0; i < 3; i++)
            PyTuple_SET_ITEM(timings, i, Py_NewRef(PyTuple_GET_ITEM(c->pre, i)));
    }
    else {
        PyTuple_SET_ITEM(timings, 0, ms(c->t_ready - c->t0));
        PyTuple_SET_ITEM(timings, 1, PyFloat_FromDouble(0.0));
        PyTuple_SET_ITEM(timings, 2, PyFloat_FromDouble(0.0));
    }
    PyTuple_SET_ITEM(timings, 3, ms(t_sent - c->t_ready));
    /* an early answer (before a large body was flushed) must not make waiting negative */
    PyTuple_SET_ITEM(timings, 4, t_first > t_sent ? ms(t_first - t_sent) : PyFloat_FromDouble(0.0));
    PyTuple_SET_ITEM(timings, 5, ms(c->t_end - t_first));
    for (i = 0; i < 6; i++)
        if (PyTuple_GET_ITEM(timings, i) == NULL) {
            Py_DECREF(body);
            Py_DECREF(timings);
            return NULL;
        }

    res = response_type->tp_alloc(response_type, 0);
    if (res == NULL) {
        Py_DECREF(body);
        Py_DECREF(timings);
        return NULL;
    }
    fields[R_STATUS] = PyLong_FromLong(c->status);
    fields[R_REASON] = Py_NewRef(Py_None);
    fields[R_PROTO] = Py_NewRef(s_http11); /* the scanner reads only HTTP/1.1 responses */
    fields[R_HEADERS] = Py_NewRef(Py_None);
    fields[R_BODY] = body;
    fields[R_TIMINGS] = timings;
    fields[R_TLS_VERSION] = Py_NewRef(c->tls_version ? c->tls_version : Py_None);
    fields[R_BYTES_SENT] = PyLong_FromSsize_t(c->sent);
    fields[R_BYTES_RECEIVED] = PyLong_FromSsize_t(c->nrecv);
    fields[R_REMOTE_IP] = Py_NewRef(c->remote_ip ? c->remote_ip : Py_None);
    fields[R_REMOTE_PORT] = PyLong_FromLong(c->remote_port);
    fields[R_HEAD] = Py_NewRef(c->head);
    fields[R_SPECIAL] = Py_NewRef(c->special);
    for (i = 0; i < R_COUNT; i++)
        SLOT(res, response_offsets[i]) = fields[i];
    for (i = 0; i < R_COUNT; i++)
        if (fields[i] == NULL) { /* an allocation failed: the error is set */
            Py_DECREF(res);
            return NULL;
        }
    return res;
}

static PyObject *
finish(PyObject *module, PyObject *arg)
{
    Conn *c;
    PyObject *res, *pool, *r;
    if (!PyObject_TypeCheck(arg, &ConnType)) {
        PyErr_SetString(PyExc_TypeError, "finish() takes a connection made on horde.http._exchange.Conn");
        return NULL;
    }
    if (response_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "finish(): configure() was not called");
        return NULL;
    }
    c = (Conn *)arg;
    c->deadline = 0;
    Py_CLEAR(c->waiter);
    if (c->head == NULL || c->head == Py_None || c->special == NULL || c->special == Py_None)
        res = PyObject_CallMethodNoArgs(arg, s_response); /* httptools read it */
    else
        res = scanned_response(c);
    if (res == NULL)
        return NULL;
    pool = c->pool; /* the reference moves to this function */
    c->pool = NULL;
    if (c->keep_alive && !c->closed && c->reuse && pool != NULL && PyList_CheckExact(pool) &&
        PyList_GET_SIZE(pool) < c->max_idle) {
        if (PyList_Append(pool, arg) < 0)
            goto fail;
    }
    else {
        if ((r = PyObject_CallMethodNoArgs(arg, s_close)) == NULL)
            goto fail;
        Py_DECREF(r);
    }
    Py_XDECREF(pool);
    return res;
fail:
    Py_XDECREF(pool);
    Py_DECREF(res);
    return NULL;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, "configure(request_cls, response_cls): RawRequest and RawResponse."},
    {"begin", (PyCFunction)(void (*)(void))begin, METH_FASTCALL,
     "begin(idle, request) -> the pooled connection with `request` written, or None (nothing done)."},
    {"finish", finish, METH_O, "finish(conn) -> the RawResponse of the completed exchange; conn back to its pool."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "horde.http._exchange", "A keep-alive connection's exchange state and pooled exchange, in C.",
    -1, methods,
};

#define INTERN(var, text)                                                                                               \
    if ((var = PyUnicode_InternFromString(text)) == NULL)                                                               \
        return NULL;

PyMODINIT_FUNC
PyInit__exchange(void)
{
    PyObject *m;
    scan = (scan_fn)PyCapsule_Import("horde.http._scan.scan", 0);
    if (scan == NULL)
        return NULL;
    INTERN(s_read, "_read");
    INTERN(s_done, "done");
    INTERN(s_set_result, "set_result");
    INTERN(s_create_future, "create_future");
    INTERN(s_arm, "_arm");
    INTERN(s_write, "write");
    INTERN(s_close, "close");
    INTERN(s_response, "_response");
    INTERN(s_join, "join");
    INTERN(s_head_method, "HEAD");
    INTERN(s_http11, "HTTP/1.1");
    if ((s_empty = PyBytes_FromStringAndSize(NULL, 0)) == NULL)
        return NULL;
    if (PyType_Ready(&ConnType) < 0)
        return NULL;
    m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Conn", (PyObject *)&ConnType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
