/* horde.http._scan: the common HTTP/1.1 response read in one pass, without httptools' callbacks.
 *
 * scan_response(data) looks at the first bytes read for an exchange. When they hold one whole,
 * plain response -- "HTTP/1.1", a final status that has a body, a Content-Length, no
 * Transfer-Encoding or Upgrade, strict CRLF lines of token names, and exactly Content-Length
 * bytes of body after the head -- it returns (status, keep_alive, special, head_end):
 *
 *   keep_alive  False when a Connection header lists "close", else True
 *   special     True when a header is Set-Cookie, Content-Encoding or Location (the client's general path)
 *   head_end    where the head ends: data[:head_end] is the status line and header lines,
 *               data[head_end + 4:] the body
 *
 * Anything else returns None and the caller parses with httptools, which knows every other case
 * (1xx, 204, 304, chunked, close-delimited, HTTP/1.0, folded lines, a response split over reads,
 * malformed ones). So this scanner may decline anything; what it accepts it must read exactly
 * as httptools does, which tests/http/test_scan.py checks response by response.
 *
 * The same scanner is exported to C as the capsule `scan` (see scan() below), for
 * horde.http._exchange.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static int
is_tchar(unsigned char c)
{
    /* RFC 9110 token characters */
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
same_name(const char *p, Py_ssize_t n, const char *lower)
{
    /* whether p[:n], ASCII case aside, is the lower-case name `lower` */
    Py_ssize_t i;
    if ((Py_ssize_t)strlen(lower) != n)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 'A' && c <= 'Z')
            c += 32;
        if (c != (unsigned char)lower[i])
            return 0;
    }
    return 1;
}

static int
lists_close(const char *v, Py_ssize_t n)
{
    /* whether a Connection value (comma-separated tokens) lists "close" */
    Py_ssize_t i = 0;
    while (i < n) {
        Py_ssize_t start, end;
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        start = i;
        while (i < n && v[i] != ',')
            i++;
        end = i;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
            end--;
        if (same_name(v + start, end - start, "close"))
            return 1;
    }
    return 0;
}

static Py_ssize_t
scan(const char *s, Py_ssize_t n, int *status_out, int *keep_alive_out, int *special_out)
{
    /* the scanner itself: head_end and the three flags, or -1 (parse it with httptools) */
    Py_ssize_t p, body_start;
    long long content_length = -1;
    int status, keep_alive = 1, special = 0;

    /* the status line: "HTTP/1.1 " three digits, then a space and a reason, or the line's end */
    if (n < 16 || memcmp(s, "HTTP/1.1 ", 9) != 0)
        return -1;
    if (s[9] < '1' || s[9] > '9' || s[10] < '0' || s[10] > '9' || s[11] < '0' || s[11] > '9')
        return -1;
    status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (status < 200 || status == 204 || status == 304)
        return -1; /* interim, or never a body: httptools' rules */
    if (s[12] != ' ' && s[12] != '\r')
        return -1;
    for (p = 12; p < n && s[p] != '\r'; p++) {
        unsigned char c = (unsigned char)s[p];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return -1;
    }
    if (p + 1 >= n || s[p + 1] != '\n')
        return -1;
    p += 2;

    /* header lines, up to the empty line */
    for (;;) {
        Py_ssize_t name_start = p, name_len, v, v_end;
        if (p + 1 >= n)
            return -1; /* the head is not complete in these bytes */
        if (s[p] == '\r') {
            if (s[p + 1] != '\n')
                return -1;
            body_start = p + 2;
            break;
        }
        while (p < n && is_tchar((unsigned char)s[p]))
            p++;
        name_len = p - name_start;
        if (name_len == 0 || p >= n || s[p] != ':')
            return -1; /* a folded line, a space before the colon, a bad name */
        p++;
        while (p < n && (s[p] == ' ' || s[p] == '\t'))
            p++;
        v = p;
        while (p < n && s[p] != '\r') {
            unsigned char c = (unsigned char)s[p];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return -1;
            p++;
        }
        if (p + 1 >= n || s[p + 1] != '\n')
            return -1;
        v_end = p;
        while (v_end > v && (s[v_end - 1] == ' ' || s[v_end - 1] == '\t'))
            v_end--;
        p += 2;

        switch (name_len) {
        case 14:
            if (same_name(s + name_start, 14, "content-length")) {
                Py_ssize_t i;
                if (content_length >= 0 || v_end == v || v_end - v > 15)
                    return -1; /* repeated, empty or huge: httptools decides */
                content_length = 0;
                for (i = v; i < v_end; i++) {
                    if (s[i] < '0' || s[i] > '9')
                        return -1;
                    content_length = content_length * 10 + (s[i] - '0');
                }
            }
            break;
        case 17:
            if (same_name(s + name_start, 17, "transfer-encoding"))
                return -1;
            break;
        case 7:
            if (same_name(s + name_start, 7, "upgrade"))
                return -1;
            break;
        case 10:
            if (same_name(s + name_start, 10, "connection")) {
                if (lists_close(s + v, v_end - v))
                    keep_alive = 0;
            }
            else if (same_name(s + name_start, 10, "set-cookie"))
                special = 1;
            break;
        case 16:
            if (same_name(s + name_start, 16, "content-encoding"))
                special = 1;
            break;
        case 8:
            if (same_name(s + name_start, 8, "location"))
                special = 1;
            break;
        default:
            break;
        }
    }
    if (content_length < 0 || (long long)(n - body_start) != content_length)
        return -1; /* close-delimited, not all here, or more than one response */
    *status_out = status;
    *keep_alive_out = keep_alive;
    *special_out = special;
    return body_start - 4;
}

static PyObject *
scan_response(PyObject *module, PyObject *arg)
{
    Py_ssize_t end;
    int status, keep_alive, special;
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "scan_response() takes bytes");
        return NULL;
    }
    end = scan(PyBytes_AS_STRING(arg), PyBytes_GET_SIZE(arg), &status, &keep_alive, &special);
    if (end < 0)
        Py_RETURN_NONE;
    return Py_BuildValue("(iNNn)", status, PyBool_FromLong(keep_alive), PyBool_FromLong(special), end);
}

static PyMethodDef scan_methods[] = {
    {"scan_response", scan_response, METH_O,
     "scan_response(data) -> (status, keep_alive, special, head_end) for one whole plain HTTP/1.1 "
     "response with a Content-Length, else None (parse it with httptools)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef scan_module = {
    PyModuleDef_HEAD_INIT, "horde.http._scan",
    "The common HTTP/1.1 response read in one pass (see scan_response).", -1, scan_methods,
};

PyMODINIT_FUNC
PyInit__scan(void)
{
    PyObject *m = PyModule_Create(&scan_module), *api;
    if (m == NULL)
        return NULL;
    /* scan() for horde.http._exchange, which reads a connection's first bytes in C */
    api = PyCapsule_New((void *)scan, "horde.http._scan.scan", NULL);
    if (api == NULL || PyModule_AddObject(m, "scan", api) < 0) {
        Py_XDECREF(api);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
