"""``record`` behaves as ``dataclass`` with the same options: equality, hashing, repr, frozenness,
slots, ``replace`` and ``fields``; only the cost of defining a class differs."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postrender.records import record


def _shapes(decorate: Any) -> dict[str, type]:
    @decorate(frozen=True)
    class Frozen:
        a: int
        b: str = ""
        c: tuple[int, ...] = ()

    @decorate(frozen=True, slots=True)
    class FrozenSlots:
        a: int
        b: str = ""

    @decorate
    class Mutable:
        a: int
        b: list[int] = field(default_factory=list)
        note: str = field(default="", compare=False)

    @decorate(slots=True)
    class MutableSlots:
        a: int

    @decorate(frozen=True)
    class One:
        a: int

    @decorate(frozen=True)
    class Empty:
        pass

    return {cls.__name__: cls for cls in (Frozen, FrozenSlots, Mutable, MutableSlots, One, Empty)}


RECORDS, DATACLASSES = _shapes(record), _shapes(dataclass)
VALUES = {"Frozen": st.tuples(st.integers(0, 2), st.sampled_from(["", "x"]), st.sampled_from([(), (1,)])),
          "FrozenSlots": st.tuples(st.integers(0, 2), st.sampled_from(["", "x"])),
          "Mutable": st.tuples(st.integers(0, 2), st.sampled_from([[], [1]]), st.sampled_from(["", "n"])),
          "MutableSlots": st.tuples(st.integers(0, 2)), "One": st.tuples(st.integers(0, 2)), "Empty": st.tuples()}


@pytest.mark.parametrize("name", sorted(RECORDS))
@given(data=st.data())
def test_records_compare_hash_and_show_as_dataclasses(name: str, data: st.DataObject) -> None:
    first, second = data.draw(VALUES[name]), data.draw(VALUES[name])
    ours = RECORDS[name](*first), RECORDS[name](*second)
    theirs = DATACLASSES[name](*first), DATACLASSES[name](*second)
    assert (ours[0] == ours[1]) is (theirs[0] == theirs[1])
    assert (ours[0] != ours[1]) is (theirs[0] != theirs[1])
    assert repr(ours[0]) == repr(theirs[0])
    assert (type(ours[0]).__hash__ is None) is (type(theirs[0]).__hash__ is None)
    if type(theirs[0]).__hash__ is not None:
        assert hash(ours[0]) == hash(theirs[0])
    assert ours[0] != theirs[0]  # another class, as dataclasses have it
    assert [f.name for f in dataclasses.fields(ours[0])] == [f.name for f in dataclasses.fields(theirs[0])]


def test_frozen_records_stay_frozen_and_replace_works() -> None:
    frozen = RECORDS["Frozen"](1, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        frozen.a = 2  # type: ignore[misc]
    assert dataclasses.replace(frozen, a=2) == RECORDS["Frozen"](2, "x")
    assert not hasattr(RECORDS["FrozenSlots"](1), "__dict__")
    assert RECORDS["Mutable"](1) == RECORDS["Mutable"](1, note="ignored")
    assert RECORDS["Frozen"](1).__eq__(object()) is NotImplemented
