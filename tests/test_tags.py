"""TagSet: immutable, interned, hashable, k6's semantics."""

from __future__ import annotations

import pickle
import threading

import pytest
from horde.metrics import EMPTY_TAGS, TagSet


def test_equal_sets_are_the_same_object_whatever_the_order_or_form():
    a = TagSet.of({"method": "GET", "status": "200"})
    b = TagSet.of([("status", "200"), ("method", "GET")])
    c = TagSet.of(status=200, method="GET")
    d = EMPTY_TAGS.with_tag("status", "200").with_tag("method", "GET")
    assert a is b is c is d
    assert TagSet.of() is EMPTY_TAGS and TagSet.of({}) is EMPTY_TAGS and TagSet.of(None) is EMPTY_TAGS


def test_values_are_strings_and_items_are_sorted():
    t = TagSet.of({"z": 1, "a": True, "m": 2.5})
    assert t.items() == (("a", "True"), ("m", "2.5"), ("z", "1"))
    assert list(t) == ["a", "m", "z"]
    assert t["z"] == "1" and t.get("a") == "True" and t.get("missing") is None and t.get("missing", "d") == "d"
    assert len(t) == 3 and "m" in t and "x" not in t
    assert t.as_dict() == {"a": "True", "m": "2.5", "z": "1"}
    assert not EMPTY_TAGS and t


def test_hashable_and_usable_as_cache_key():
    cache = {}
    for _ in range(3):
        t = TagSet.of({"url": "http://x/", "status": "200"})
        cache.setdefault(t, object())
    assert len(cache) == 1
    assert {TagSet.of(a="1"), TagSet.of(a="1"), TagSet.of(a="2")} == {TagSet.of(a="1"), TagSet.of(a="2")}


def test_equality_with_plain_mappings():
    t = TagSet.of(a="1", b="2")
    assert t == {"b": "2", "a": "1"}
    assert t != {"a": "1"}
    assert t != TagSet.of(a="1")
    assert (t == 5) is False


def test_immutable():
    t = TagSet.of(a="1")
    with pytest.raises(AttributeError):
        t.x = 1
    with pytest.raises(AttributeError):
        t._items = ()
    with pytest.raises(AttributeError):
        del t._items
    with pytest.raises(AttributeError):
        del t._dict
    with pytest.raises(TypeError):
        t["a"] = "2"
    with pytest.raises(TypeError):
        del t["a"]
    with pytest.raises(TypeError):
        TagSet()
    assert t == {"a": "1"} and t.items() == (("a", "1"),)


def test_derived_sets_leave_the_original_alone():
    base = TagSet.of(method="GET", status="200")
    over = base.with_tag("status", "404")
    assert over["status"] == "404" and base["status"] == "200"
    assert over is TagSet.of(method="GET", status="404")
    more = base.with_tags({"page": "home", "status": 500})
    assert more == {"method": "GET", "status": "500", "page": "home"}
    assert base.with_tags({}) is base
    assert more.without("page", "status") is TagSet.of(method="GET")
    assert base.without("absent") is base


def test_with_tag_cache_distinguishes_values_that_compare_equal():
    base = TagSet.of(a="1")
    assert base.with_tag("flag", True)["flag"] == "True"
    assert base.with_tag("flag", 1)["flag"] == "1"
    assert base.with_tag("flag", 1.0)["flag"] == "1.0"
    assert base.with_tag("flag", "1")["flag"] == "1"
    assert base.with_tag("list", ["x"])["list"] == "['x']"  # unhashable values work too


def test_contains_is_a_subset_test():
    t = TagSet.of(method="GET", status="200", group="")
    assert t.contains(TagSet.of(status="200"))
    assert t.contains({"status": "200", "group": ""})
    assert t.contains(EMPTY_TAGS)
    assert not t.contains({"status": "404"})
    assert not t.contains({"name": ""})


def test_pickle_round_trip_keeps_interning():
    t = TagSet.of(a="1", b="2")
    assert pickle.loads(pickle.dumps(t)) is t


def test_concurrent_interning_yields_one_object():
    results = []
    barrier = threading.Barrier(8)

    def make():
        barrier.wait(10)
        results.append([TagSet.of({"thread_race": str(i)}) for i in range(300)])

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 8
    for i in range(300):
        assert len({id(r[i]) for r in results}) == 1


def test_repr():
    assert repr(TagSet.of(a="1")) == "TagSet({'a': '1'})"
