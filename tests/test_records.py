"""``record`` behaves as ``dataclass`` with the same options: equality, hashing, repr, frozenness,
slots, ``replace`` and ``fields``; only the cost of defining a class differs."""
from __future__ import annotations

import dataclasses
import inspect
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


@pytest.mark.parametrize("name", sorted(RECORDS))
@given(data=st.data())
def test_records_are_built_as_dataclasses_are(name: str, data: st.DataObject) -> None:
    """``__init__`` (written by ``record``, not dataclasses): positional, keyword and default
    arguments set the same fields; a default_factory gives each record its own value."""
    values = data.draw(VALUES[name])
    names = [f.name for f in dataclasses.fields(DATACLASSES[name])]
    given_count = data.draw(st.integers(0, len(values)))
    required = [f for f in dataclasses.fields(DATACLASSES[name])
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    given_count = max(given_count, len(required))
    as_keywords = data.draw(st.booleans())
    args, kwargs = ((), dict(zip(names, values[:given_count]))) if as_keywords else (values[:given_count], {})
    ours, theirs = RECORDS[name](*args, **kwargs), DATACLASSES[name](*args, **kwargs)
    assert [getattr(ours, n) for n in names] == [getattr(theirs, n) for n in names]
    params = [(p.name, p.kind, p.default is inspect.Parameter.empty) for p in inspect.signature(RECORDS[name]).parameters.values()]
    assert params == [(p.name, p.kind, p.default is inspect.Parameter.empty)
                      for p in inspect.signature(DATACLASSES[name]).parameters.values()]


def test_building_a_record_wrongly_fails_as_a_dataclass_does() -> None:
    for cls in (RECORDS["Frozen"], DATACLASSES["Frozen"]):
        with pytest.raises(TypeError):
            cls()
        with pytest.raises(TypeError):
            cls(1, "x", (), 4)
        with pytest.raises(TypeError):
            cls(1, a=1)
        with pytest.raises(TypeError):
            cls(1, z=1)
    assert RECORDS["Mutable"](1).b is not RECORDS["Mutable"](1).b  # a new list each time
    frozen = RECORDS["Frozen"](1)
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'a'"):
        del frozen.a
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'z'"):
        frozen.z = 1  # type: ignore[attr-defined]
    mutable = RECORDS["Mutable"](1)
    mutable.a = 5
    assert mutable.a == 5


def test_what_record_does_not_write_itself_is_left_to_dataclasses() -> None:
    """``__post_init__``, fields left out of ``__init__``, keyword-only fields, inherited fields."""
    @record
    class Later:
        a: int
        b: int = field(init=False, default=0)

        def __post_init__(self) -> None:
            self.b = self.a * 2

    @record(frozen=True)
    class KeywordOnly:
        a: int
        b: int = field(default=1, kw_only=True)

    @record(frozen=True)
    class Child(RECORDS["Frozen"]):  # type: ignore[misc, valid-type]
        d: int = 4

    assert Later(2).b == 4
    assert KeywordOnly(1, b=3).b == 3
    with pytest.raises(TypeError):
        KeywordOnly(1, 3)  # type: ignore[misc]
    assert (Child(1).a, Child(1).d) == (1, 4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        Child(1).d = 5  # type: ignore[misc]


def test_a_record_inherits_only_as_frozen_as_its_base() -> None:
    @record
    class Base:
        a: int

    with pytest.raises(TypeError, match="cannot inherit frozen dataclass from a non-frozen one"):
        @record(frozen=True)
        class Frozen(Base):
            b: int = 0

    with pytest.raises(TypeError, match="cannot inherit non-frozen dataclass from a frozen one"):
        @record
        class Mutable(RECORDS["Frozen"]):  # type: ignore[misc, valid-type]
            d: int = 0

    @record(frozen=True)
    class FromADataclass(DATACLASSES["Frozen"]):  # type: ignore[misc, valid-type]
        d: int = 4

    assert FromADataclass(1).d == 4


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_records_copy_and_pickle_as_dataclasses_do(name: str) -> None:
    import copy
    import pickle

    values = {"Frozen": (1, "x", (2,)), "FrozenSlots": (1, "x"), "Mutable": (1, [2], "n"),
              "MutableSlots": (1,), "One": (1,), "Empty": ()}[name]
    ours = RECORDS[name](*values)
    qualname = RECORDS[name].__qualname__
    globals()[f"_Pickled{name}"] = RECORDS[name]  # (pickle finds a class by its module and name)
    RECORDS[name].__qualname__ = f"_Pickled{name}"
    try:
        for again in (copy.copy(ours), copy.deepcopy(ours), pickle.loads(pickle.dumps(ours))):
            assert again == ours and again is not ours
    finally:
        RECORDS[name].__qualname__ = qualname


def test_a_record_that_holds_itself_shows_as_a_dataclass_does() -> None:
    ours, theirs = RECORDS["Mutable"](1), DATACLASSES["Mutable"](1)
    ours.b.append(ours)
    theirs.b.append(theirs)
    assert repr(ours) == repr(theirs) and repr(ours).endswith("Mutable(a=1, b=[...], note='')")
