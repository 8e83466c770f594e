"""One connection per sender thread, all cut at once: the pool behind a network output's ``send``.

With ``senders`` > 1, :class:`~horde.output.Delivery` calls ``send`` from several
threads at once; each needs its own connection (a
:class:`~horde.output.KeepAliveConnection` or a client wrapping one). A
:class:`PerThread` makes it on a thread's first use, and its :meth:`PerThread.abort`
(the delivery's ``interrupt``) and :meth:`PerThread.close` reach every one made.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

__all__ = ["Closable", "PerThread"]


class Closable(Protocol):
    """What :class:`PerThread` holds: a connection that can be aborted from any thread and closed."""

    def abort(self) -> None:
        """Make the request in flight fail now and refuse new ones (called from another thread)."""

    def close(self) -> None:
        """Drop the connection."""


C = TypeVar("C", bound=Closable)


class PerThread(Generic[C]):
    """Each thread's own connection, made by ``make()`` on its first :meth:`get`.

    :meth:`abort` cuts every connection made, and every later one at birth;
    :meth:`close` closes them all. Both may be called from any thread.
    """

    def __init__(self, make: Callable[[], C]) -> None:
        self._make = make
        self._local = threading.local()
        self._lock = threading.Lock()
        self._made: list[C] = []
        self._aborted = False

    def get(self) -> C:
        """The calling thread's connection (made now if it has none)."""
        conn: C | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._make()
            with self._lock:
                self._made.append(conn)
                if self._aborted:
                    conn.abort()
            self._local.conn = conn
        return conn

    def abort(self) -> None:
        """Fail every request in flight now, and every later one."""
        with self._lock:
            self._aborted = True
            made = list(self._made)
        for conn in made:
            conn.abort()

    def close(self) -> None:
        """Close every connection made."""
        with self._lock:
            made = list(self._made)
        for conn in made:
            conn.close()

    def __len__(self) -> int:
        """How many connections were made."""
        with self._lock:
            return len(self._made)
