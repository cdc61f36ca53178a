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


# -- review (helper: records compile their own __init__) ---------------------------------------
def _package_records() -> list[type]:
    """Every class of the package that ``record`` built (its ``__eq__`` is record's)."""
    import importlib
    import pkgutil

    import postrender

    found: dict[str, type] = {}
    for module_info in pkgutil.iter_modules(postrender.__path__, "postrender."):
        if module_info.name.endswith("__main__"):
            continue  # (it runs the command)
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if (isinstance(value, type) and value.__module__ == module.__name__ and "__dataclass_fields__" in value.__dict__
                    and value.__eq__.__qualname__.startswith("_add_methods.")):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[name] for name in sorted(found)]


PACKAGE_RECORDS = _package_records()


def _frozen(cls: type) -> bool:
    """Whether ``record`` was asked for a frozen class (one it freezes itself says so in ``_record_frozen``)."""
    return bool(cls.__dict__.get("_record_frozen", cls.__dataclass_params__.frozen))  # type: ignore[attr-defined]


def _mirror(cls: type) -> type:
    """The dataclass ``@dataclass(frozen=..., slots=...)`` makes of the same fields (as written)."""
    specs = []
    for f in dataclasses.fields(cls):
        kwargs: dict[str, Any] = {"compare": f.compare, "hash": f.hash, "repr": f.repr}
        if f.default is not dataclasses.MISSING:
            kwargs["default"] = f.default
        if f.default_factory is not dataclasses.MISSING:
            kwargs["default_factory"] = f.default_factory
        specs.append((f.name, f.type, field(**kwargs)))
    mirror = dataclasses.make_dataclass(cls.__name__, specs, frozen=_frozen(cls), slots="__slots__" in cls.__dict__)
    mirror.__qualname__ = cls.__qualname__
    return mirror


def test_the_package_has_records_record_built_itself() -> None:
    assert len(PACKAGE_RECORDS) >= 30  # (else the tests below check nothing)


@pytest.mark.parametrize("cls", PACKAGE_RECORDS, ids=lambda cls: cls.__qualname__)
def test_every_record_of_the_package_behaves_as_the_dataclass_of_its_fields(cls: type) -> None:
    """Each record the package defines, against ``@dataclass`` with the same fields and options:
    its parameters, positional and keyword construction, defaults (a new object from each
    factory), frozenness, slots, eq/hash/repr, replace, asdict/astuple, copy and pickle."""
    import copy
    import pickle

    mirror = _mirror(cls)
    fields_ = dataclasses.fields(cls)
    ours_params = list(inspect.signature(cls).parameters.values())
    theirs_params = list(inspect.signature(mirror).parameters.values())
    assert [(p.name, p.kind) for p in ours_params] == [(p.name, p.kind) for p in theirs_params]
    for ours_param, theirs_param, f in zip(ours_params, theirs_params, fields_):
        if f.default_factory is dataclasses.MISSING:
            assert ours_param.default is theirs_param.default, f.name
    values = [f"v{index}" for index in range(len(fields_))]
    ours, theirs = cls(*values), mirror(*values)
    assert cls(**{f.name: v for f, v in zip(fields_, values)}) == ours
    assert dataclasses.astuple(ours) == dataclasses.astuple(theirs) == tuple(values)
    assert dataclasses.asdict(ours) == dataclasses.asdict(theirs)
    assert repr(ours) == repr(theirs)
    assert (cls.__hash__ is None) is (mirror.__hash__ is None)
    if mirror.__hash__ is not None:
        assert hash(ours) == hash(theirs)
    changed = cls(*values[:-1], "other") if values else ours
    assert (changed == ours) is (mirror(*values[:-1], "other") == theirs if values else True)
    required = [f for f in fields_ if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    least = cls(*values[:len(required)])
    assert dataclasses.astuple(least) == dataclasses.astuple(mirror(*values[:len(required)]))
    for f in fields_:
        if f.default_factory is not dataclasses.MISSING and isinstance(getattr(least, f.name), (list, dict, set)):
            assert getattr(least, f.name) is not getattr(cls(*values[:len(required)]), f.name)
    with pytest.raises(TypeError):
        cls(*values, "one too many")
    if required:
        with pytest.raises(TypeError):
            cls(*values[:len(required) - 1])
    assert hasattr(ours, "__dict__") is hasattr(theirs, "__dict__")
    if fields_:
        name = fields_[0].name
        assert dataclasses.replace(ours, **{name: "new"}) == cls("new", *values[1:])
        if _frozen(cls):
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(ours, name, "x")
            with pytest.raises(dataclasses.FrozenInstanceError):
                delattr(ours, name)
            # (a frozen slots dataclass of Python 3.11 raises TypeError from its super() here, record FrozenInstanceError)
            with pytest.raises(dataclasses.FrozenInstanceError if hasattr(theirs, "__dict__") else (AttributeError, TypeError)):
                ours.not_a_field = 1  # type: ignore[attr-defined]
        else:
            setattr(ours, name, "x")
            assert getattr(ours, name) == "x"
            setattr(ours, name, values[0])
    for again in (copy.copy(ours), copy.deepcopy(ours), pickle.loads(pickle.dumps(ours))):
        assert again == ours and again is not ours and dataclasses.astuple(again) == tuple(values)


@pytest.mark.parametrize("decorate", ["record", "dataclass"])
def test_a_frozen_subclass_that_dataclasses_builds_may_inherit_a_frozen_record(decorate: str) -> None:
    @record(frozen=True)
    class Base:
        a: int

    if decorate == "record":
        @record(frozen=True)
        class Child(Base):
            b: int = 0

            def __post_init__(self) -> None:
                pass
    else:
        @dataclass(frozen=True)
        class Child(Base):  # type: ignore[no-redef]
            b: int = 0

    assert (Child(1, 2).a, Child(1, 2).b) == (1, 2)


def test_a_mutable_subclass_of_a_frozen_record_is_refused_where_it_is_defined() -> None:
    @record(frozen=True)
    class Base:
        a: int

    with pytest.raises(TypeError, match="cannot inherit non-frozen dataclass from a frozen one"):
        @record
        class Child(Base):
            b: int = 0

            def __post_init__(self) -> None:
                pass


def test_a_record_keeps_its_own_init_as_a_dataclass_does() -> None:
    @record
    class Sized:
        length: int

        def __init__(self, text: str) -> None:
            self.length = len(text)

    assert Sized("abc").length == 3  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["_set", "_FACTORY", "_factory_items", "self"])
def test_a_field_may_have_any_name_init_uses_itself(name: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"@record(frozen=True)\nclass Named:\n    items: list = field(default_factory=list)\n    {name}: int = 7\n",  # noqa: S102
         {"record": record, "field": field, "list": list}, namespace)
    built = namespace["Named"]()
    assert built.items == [] and getattr(built, name) == 7
    assert namespace["Named"](items=[1], **{name: 8}).items == [1]


def test_a_field_without_a_default_after_a_default_fails_as_a_dataclass_does() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        @record
        class Wrong:
            a: int = 0
            b: int  # type: ignore[misc]


def test_cached_properties_of_frozen_records_say_what_they_would_compute() -> None:
    """``functools.cached_property`` on frozen records (``Rule``, ``RuleSet``) writes past the
    frozen ``__setattr__``; ``for_kind`` remembers what ``_match`` says, for every kind a rule names."""
    import copy

    from postrender.rules import Rule, RuleSet, load_rules

    rules = load_rules()
    fresh = RuleSet(rules.rules)
    asked = [(None, "Pod"), ("v1", "Pod"), ("", "ConfigMap"), ("apps/v1", "Nope"), ("x/y/z", "Deployment")]
    for rule in rules.rules:
        assert rule.looks_past_schema_defaults is Rule.looks_past_schema_defaults.func(rule)  # type: ignore[attr-defined]
        assert rule.looks_past_schema_defaults is rule.looks_past_schema_defaults
        for match in rule.match:
            for kind in match.kinds:
                for version in (*match.versions, "v1", "v9"):
                    asked.append((f"{match.group}/{version}" if match.group else version, kind.replace("*", "Any")))
    for api_version, kind in asked * 2:  # (the second time from the memo)
        assert fresh.for_kind(api_version, kind) == fresh._match(api_version, kind) == rules.for_kind(api_version, kind)
    assert fresh.for_kind("v1", "") == fresh.for_kind("v1", None) == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        fresh.rules = ()  # type: ignore[misc]
    assert fresh == rules and hash(fresh) == hash(RuleSet(rules.rules))
    again = copy.copy(fresh)
    assert again.for_kind("apps/v1", "Deployment") == fresh.for_kind("apps/v1", "Deployment")
    assert dataclasses.replace(fresh, rules=()).for_kind("apps/v1", "Deployment") == ()


def test_for_kind_stays_right_past_the_kinds_it_remembers(monkeypatch: pytest.MonkeyPatch) -> None:
    from postrender import rules as rules_module

    monkeypatch.setattr(rules_module, "KINDS_REMEMBERED", 2)
    ruleset = rules_module.RuleSet(rules_module.load_rules().rules)
    kinds = ["Pod", "Deployment", "ConfigMap", "CronJob", "Pod", "Nope"]
    results = [ruleset.for_kind("v1" if kind != "Deployment" else "apps/v1", kind) for kind in kinds]
    assert results == [ruleset._match("v1" if kind != "Deployment" else "apps/v1", kind) for kind in kinds]
    assert results[0] and results[1] and results[-1] == ()
    assert len(ruleset._matched) == 2


def test_the_kinds_a_stream_names_are_not_kept_after_it() -> None:
    """RuleSet.for_kind's memo (on the RuleSet load_rules keeps) holds no kind of implausible
    length, and at most KINDS_REMEMBERED pairs (review of #15: 4096 of any length were kept)."""
    import gc
    import tracemalloc

    from postrender.rules import load_rules
    from postrender.testing import render

    load_rules.cache_clear()  # (a RuleSet whose memo earlier tests filled would keep nothing more)
    registry = {"registry": "registry.intern", "folder": "civitas"}
    render("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n", **registry)
    stream = "".join(f"---\napiVersion: v1\nkind: K{index:04d}{'x' * 20000}\nmetadata:\n  name: n\n" for index in range(200))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = render(stream, **registry)
        del result
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < (1 << 20), f"{held} bytes held after a stream of {len(stream)}"  # (393b252: ~10 KB)
