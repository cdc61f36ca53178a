"""``record``: ``dataclasses.dataclass`` made quick to define.

Up to Python 3.12, dataclasses writes each method of a class as source text and compiles it
(``exec``) when the class is defined: six compilations for a frozen class, ~0.5 ms.  The 38
classes post-render mode imports cost 21 ms of its 45 ms of imports, paid on every ``helm
install``.  ``record`` lets dataclasses read the fields and write nothing: it compiles one
``__init__`` itself (what dataclasses would write for the options used here; anything else,
such as ``__post_init__`` or keyword-only fields, is left to dataclasses), keeps a frozen
record frozen with two methods written once here, and gives every record the same ``__eq__``,
``__hash__`` and ``__repr__``, bound to the class's fields by ``operator.attrgetter`` (in C).
What they compare, hash and show is what dataclasses' own would (fields with ``compare``,
``hash`` and ``repr`` set); tests/test_records.py checks both agree.
"""
from __future__ import annotations

import _thread
import dataclasses
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:  # (typing has it from Python 3.11; mypy reads it from its own stubs)
    from typing_extensions import dataclass_transform
else:
    def dataclass_transform(**_: Any) -> Callable[[T], T]:
        return lambda decorated: decorated

T = TypeVar("T")


@overload
def record(cls: type[T], /) -> type[T]: ...


@overload
def record(*, frozen: bool = False, slots: bool = False) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(eq_default=True, field_specifiers=(dataclasses.field,))
def record(cls: type[T] | None = None, /, *, frozen: bool = False, slots: bool = False) -> Any:
    """``@record``, ``@record(frozen=True, slots=True)``: as ``@dataclass`` with the same options."""
    def wrap(cls: type[T]) -> type[T]:
        if _plain(cls):
            made: Any = dataclasses.dataclass(cls, slots=slots, init=False, eq=False, repr=False)  # (compiles nothing)
            fields = dataclasses.fields(made)
            made.__init__ = _init(made, fields, frozen)
            if frozen:
                _freeze(made, fields, slots)
                made.__dataclass_params__.frozen = True  # (told frozen=False above): a subclass dataclasses builds checks it
        else:
            made = dataclasses.dataclass(cls, frozen=frozen, slots=slots, eq=False, repr=False)
        _add_methods(made, frozen)
        built: type[T] = made
        return built

    return wrap if cls is None else wrap(cls)


def _plain(cls: type) -> bool:
    """Whether ``_init`` writes what dataclasses would: no ``__init__`` or ``__post_init__`` of
    its own, no pseudo-fields (``InitVar``, ``ClassVar``), no field left out of ``__init__`` or
    keyword-only, no inherited fields (dataclasses builds the rest, and checks a base's options)."""
    if "__init__" in cls.__dict__ or hasattr(cls, "__post_init__"):
        return False
    if any("__dataclass_fields__" in base.__dict__ for base in cls.__mro__[1:]):
        return False
    annotations = cls.__dict__.get("__annotations__", {})
    if any("InitVar" in str(kind) or "ClassVar" in str(kind) or "KW_ONLY" in str(kind) for kind in annotations.values()):
        return False
    return not any(isinstance(value, dataclasses.Field) and (not value.init or value.kw_only is True)
                   for value in cls.__dict__.values())


_FACTORY = object()  # the default of a parameter whose field has a default_factory


def _init(cls: type, fields: tuple[dataclasses.Field[Any], ...], frozen: bool) -> Callable[..., None]:
    """``__init__`` as dataclasses writes it: each field set in order (on a frozen record with
    ``object.__setattr__``), a default_factory called when its parameter is not given.  Its own
    names are dunders no field is given (``self`` too, when a field is named so)."""
    namespace: dict[str, Any] = {"__record_factory__": _FACTORY, "__record_set__": object.__setattr__}
    me = "__dataclass_self__" if any(field.name == "self" for field in fields) else "self"
    params, body = [me], []
    defaulted = False
    for field in fields:
        name, value = field.name, field.name
        if field.default_factory is not dataclasses.MISSING:
            namespace[f"__record_factory_{name}__"] = field.default_factory
            params.append(f"{name}=__record_factory__")
            value = f"__record_factory_{name}__() if {name} is __record_factory__ else {name}"
        elif field.default is not dataclasses.MISSING:
            namespace[f"__record_default_{name}__"] = field.default
            params.append(f"{name}=__record_default_{name}__")
        elif defaulted:
            raise TypeError(f"non-default argument {name!r} follows default argument")  # (as dataclasses words it)
        else:
            params.append(name)
        defaulted = defaulted or field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
        body.append(f"    __record_set__({me}, {name!r}, {value})" if frozen else f"    {me}.{name} = {value}")
    source = f"def __init__({', '.join(params)}):\n" + ("\n".join(body) or "    pass") + "\n"
    exec(compile(source, f"<record {cls.__qualname__}>", "exec"), namespace)  # noqa: S102  # (text written here, from field names)
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _freeze(cls: Any, fields: tuple[dataclasses.Field[Any], ...], slots: bool) -> None:
    """Assigning or deleting a field raises ``FrozenInstanceError``, as on a frozen dataclass
    (whose slots are still copied and pickled: set past ``__setattr__``)."""
    names = frozenset(field.name for field in fields)
    if slots:
        getter = _getter([field.name for field in fields])

        def __getstate__(self: Any) -> list[Any]:
            return list(getter(self))

        def __setstate__(self: Any, state: list[Any]) -> None:
            for field, value in zip(fields, state):
                object.__setattr__(self, field.name, value)

        setattr(cls, "__getstate__", __getstate__)
        setattr(cls, "__setstate__", __setstate__)

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    setattr(cls, "__setattr__", __setattr__)
    setattr(cls, "__delattr__", __delattr__)


_SHOWING: set[tuple[int, int]] = set()  # (record, thread) whose repr is being written


def _add_methods(cls: type, frozen: bool) -> None:
    fields = dataclasses.fields(cls)
    compared = [f.name for f in fields if f.compare]
    shown = [f.name for f in fields if f.repr]
    values = _getter(compared)

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return bool(values(self) == values(other))

    def __repr__(self: Any) -> str:
        key = id(self), _thread.get_ident()
        if key in _SHOWING:  # a record that holds itself: "...", as dataclasses have it
            return "..."
        _SHOWING.add(key)
        try:
            return f"{self.__class__.__qualname__}({', '.join(f'{name}={getattr(self, name)!r}' for name in shown)})"
        finally:
            _SHOWING.discard(key)

    cls.__eq__ = __eq__  # type: ignore[assignment]
    cls.__repr__ = __repr__  # type: ignore[assignment]
    if frozen:  # as dataclasses: equal frozen records hash alike; a mutable one is not hashable
        hash_values = _getter([f.name for f in fields if (f.compare if f.hash is None else f.hash)])

        def __hash__(self: Any) -> int:
            return hash(hash_values(self))

        cls.__hash__ = __hash__  # type: ignore[assignment]
    else:
        cls.__hash__ = None  # type: ignore[assignment]


def _getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The named attributes as a tuple (``attrgetter`` of one name returns the bare value)."""
    if not names:
        return lambda _: ()
    get = operator.attrgetter(*names)
    if len(names) == 1:
        return lambda obj: (get(obj),)
    return get
