"""open_store: one configuration string names the store."""

from __future__ import annotations

import importlib.util

import pytest
from helpers import require

from tlslite_mls.store import MemoryStore, SQLiteStore, open_store


def test_memory():
    assert isinstance(open_store("memory:"), MemoryStore)


@pytest.mark.parametrize("form", ["sqlite://{p}", "sqlite:{p}"])
def test_sqlite(tmp_path, form):
    path = tmp_path / "s.db"
    with open_store(form.format(p=path)) as store:
        assert isinstance(store, SQLiteStore) and store.path == str(path)
        store.save_group(b"k", b"v")
    assert SQLiteStore(path).load_group(b"k") == b"v"


def test_redis_without_connecting():
    require(importlib.util.find_spec("redis") is not None, "the redis Python package")
    store = open_store("redis://:hunter2@127.0.0.1:1/0", prefix=b"p:")
    assert "hunter2" not in repr(store) and store.prefix == b"p:"
    store.close()


@pytest.mark.parametrize("spec", ["sqlite:", "sqlite://", "postgres://u:pw@h/db", "memcache"])
def test_refused(spec):
    with pytest.raises(ValueError) as info:
        open_store(spec)
    assert "pw" not in str(info.value)
