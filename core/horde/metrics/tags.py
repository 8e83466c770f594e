"""Immutable, interned tag sets.

Every distinct set of tags exists once per process, so two equal tag sets are
the same object. Outputs may therefore cache whatever they derive from a tag
set (a line-protocol tag string, a run of CSV columns) in a dict keyed by the
tag set itself: hashing and equality are identity, which is as fast as it gets.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NoReturn

__all__ = ["TagSet", "EMPTY_TAGS"]

_interned: dict[tuple[tuple[str, str], ...], TagSet] = {}
_intern_lock = threading.Lock()


class TagSet(Mapping[str, str]):
    """An immutable, interned mapping of tag names to string values, sorted by name.

    Build one with :meth:`TagSet.of`; derive others with :meth:`with_tag`,
    :meth:`with_tags` and :meth:`without`. Never instantiate directly.
    """

    __slots__ = ("_items", "_dict", "_derived", "__weakref__")

    _items: tuple[tuple[str, str], ...]
    _dict: dict[str, str]
    _derived: dict[Any, TagSet]

    def __new__(cls, *args: object, **kwargs: object) -> TagSet:  # pragma: no cover - guard only
        raise TypeError("use TagSet.of(...) to build a tag set")

    @classmethod
    def _intern(cls, items: tuple[tuple[str, str], ...]) -> TagSet:
        found = _interned.get(items)
        if found is not None:
            return found
        with _intern_lock:
            found = _interned.get(items)
            if found is None:
                found = object.__new__(cls)
                object.__setattr__(found, "_items", items)
                object.__setattr__(found, "_dict", dict(items))
                object.__setattr__(found, "_derived", {})
                _interned[items] = found
            return found

    @classmethod
    def of(cls, tags: Mapping[str, object] | Iterable[tuple[str, object]] | None = None, /, **kw: object) -> TagSet:
        """The interned tag set holding ``tags`` (values are converted with ``str``)."""
        merged: dict[str, str] = {}
        if tags:
            pairs = tags.items() if isinstance(tags, Mapping) else tags
            for k, v in pairs:
                merged[str(k)] = str(v)
        for k, v in kw.items():
            merged[k] = str(v)
        return cls._intern(tuple(sorted(merged.items())))

    def with_tag(self, key: str, value: object) -> TagSet:
        """This set plus ``key=value``; an existing key is overwritten (cached per set)."""
        # key on the text, not the value: True == 1 == 1.0 but they give "True", "1", "1.0"
        text = value if type(value) is str else str(value)
        cache_key = (key, text)
        found = self._derived.get(cache_key)
        if found is not None:
            return found
        merged = dict(self._items)
        merged[key] = text
        result = TagSet._intern(tuple(sorted(merged.items())))
        self._derived[cache_key] = result
        return result

    def with_tags(self, tags: Mapping[str, object]) -> TagSet:
        """This set plus every pair of ``tags``, overwriting existing keys."""
        if not tags:
            return self
        merged = dict(self._items)
        for k, v in tags.items():
            merged[str(k)] = str(v)
        return TagSet._intern(tuple(sorted(merged.items())))

    def without(self, *keys: str) -> TagSet:
        """This set less ``keys``."""
        if not any(k in self._dict for k in keys):
            return self
        return TagSet._intern(tuple(kv for kv in self._items if kv[0] not in keys))

    def contains(self, other: Mapping[str, str]) -> bool:
        """True when every pair of ``other`` is in this set (a subset test, as k6's)."""
        d = self._dict
        return all(d.get(k) == v for k, v in other.items())

    def items(self) -> tuple[tuple[str, str], ...]:  # type: ignore[override]
        """The (name, value) pairs, sorted by name."""
        return self._items

    def as_dict(self) -> dict[str, str]:
        """A new plain dict of the tags."""
        return dict(self._items)

    def __getitem__(self, key: str) -> str:
        return self._dict[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._dict.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._dict

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    # Interned: identity is equality.
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TagSet):
            return self is other
        if isinstance(other, Mapping):
            return self._dict == dict(other)
        return NotImplemented

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("TagSet is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("TagSet is immutable")

    def __reduce__(self) -> tuple[Any, tuple[tuple[tuple[str, str], ...]]]:
        return (TagSet.of, (self._items,))

    def __repr__(self) -> str:
        return f"TagSet({self._dict!r})"


EMPTY_TAGS = TagSet.of()
"""The empty tag set."""
