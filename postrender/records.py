"""``record``: ``dataclasses.dataclass`` made quick to define.

Up to Python 3.12, dataclasses writes each method of a class as source text and compiles it
(``exec``) when the class is defined: six compilations for a frozen class.  The 37 classes
post-render mode imports cost 150M of the 760M instructions of a one-document run (callgrind),
paid on every ``helm install``.  ``record`` lets dataclasses write only ``__init__`` (and for a
frozen class the two methods that keep it frozen) and gives every record the same ``__eq__``,
``__hash__`` and ``__repr__``, written once here and bound to the class's fields by
``operator.attrgetter`` (in C).  What they compare, hash and show is what dataclasses' own
would (fields with ``compare``, ``hash`` and ``repr`` set); tests/test_records.py checks both
agree.
"""
from __future__ import annotations

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
        made = dataclasses.dataclass(cls, frozen=frozen, slots=slots, eq=False, repr=False)
        _add_methods(made, frozen)
        return made

    return wrap if cls is None else wrap(cls)


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
        return f"{self.__class__.__qualname__}({', '.join(f'{name}={getattr(self, name)!r}' for name in shown)})"

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
