/* slot_offsets(): where a Python class's __slots__ live in its instances, for horde.http's C modules that
 * fill the slots of horde.http's RawResponse and Response directly (_exchange.c, _fast.c). */
#ifndef HORDE_HTTP_SLOTS_H
#define HORDE_HTTP_SLOTS_H

#include <Python.h>
#include <structmember.h>

/* The offsets of the slots `names` of class `cls` into `out`; with `all`, they must be all its slots.
 * -1 with a TypeError naming the culprit otherwise (`out` may then be partly written: callers fill a
 * local array and keep it only on success). */
static int
slot_offsets(PyObject *cls, const char **names, Py_ssize_t count, Py_ssize_t *out, int all)
{
    Py_ssize_t i;
    if (all) {
        PyObject *slots = PyObject_GetAttrString(cls, "__slots__");
        Py_ssize_t n;
        if (slots == NULL)
            return -1;
        n = PyObject_Length(slots);
        Py_DECREF(slots);
        if (n != count) {
            PyErr_Format(PyExc_TypeError, "configure(): %s has other slots than this module fills",
                         ((PyTypeObject *)cls)->tp_name);
            return -1;
        }
    }
    for (i = 0; i < count; i++) {
        PyObject *d = PyObject_GetAttrString(cls, names[i]);
        if (d == NULL)
            return -1;
        if (!Py_IS_TYPE(d, &PyMemberDescr_Type) || ((PyMemberDescrObject *)d)->d_member->type != T_OBJECT_EX ||
            ((PyMemberDescrObject *)d)->d_common.d_type != (PyTypeObject *)cls) {
            Py_DECREF(d);
            PyErr_Format(PyExc_TypeError, "configure(): %s is not a slot of %s", names[i],
                         ((PyTypeObject *)cls)->tp_name);
            return -1;
        }
        out[i] = ((PyMemberDescrObject *)d)->d_member->offset;
        Py_DECREF(d);
    }
    return 0;
}

#endif
