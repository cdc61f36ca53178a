"""The memory bound: peak memory stays within 2x the input + 60 MiB, or the run stops early
with a clear "too large" error (exit 1; ``check``: 2), never a MemoryError or the OOM killer.

What costs memory is known from the text before it is spent: a composed YAML node (with its
two marks and its value) takes about ``NODE_BYTES``, and libyaml counts a document's nodes in
C without building any (``raw_parse``), so a document whose node tree would not fit is refused
before it is composed.  What the run keeps (image places, pod specs, the text of documents it
edits) is counted as it grows, and the run stops when the bound would be passed.
``CIVITAS_POSTRENDER_MAX_MEMORY`` (MiB, or ``unlimited``) sets another bound.
"""
from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable
from typing import Sized, TypeVar

from .errors import ConfigError, InputError, Where
from .records import record

T = TypeVar("T")
ENV = "CIVITAS_POSTRENDER_MAX_MEMORY"
MIB = 1 << 20
SLACK = 60 * MIB
# Measured on CPython 3.11 with PyYAML 6 / libyaml 0.2 (benchmarks --worst-cases):
BASE_BYTES = 22 * MIB  # the interpreter, the package, click, docker-image-py, the rules
NODE_BYTES = 400  # per libyaml event: a node (object and dict 170 B, two marks 160 B), its value, its place in a pair
PEAK_NODES_PER_CHAR = 0.7  # "[[],[],": the most events a text can hold (a document this dense that fits is not counted)
SITE_BYTES = 1700  # an image place, from finding to the plan, its edit and the image list (post-render's peak)
FOUND_BYTES = 400  # an image place while its document is read (places reached twice through aliases are merged after)
PIECE_BYTES = 300  # a document's place in the stream
SECRET_BYTES = 1500  # a pod spec kept for ``check``, cut down to its pull-secret field, and its problem


class TooLarge(InputError):
    """The input would need more memory than the bound allows."""


def limit_for(input_size: int) -> int | None:
    """The bound in bytes for an input of ``input_size`` bytes (None: unbounded)."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return 2 * input_size + SLACK
    if raw.lower() in ("unlimited", "none", "off"):
        return None
    try:
        mib = float(raw)
    except ValueError:
        raise ConfigError(f"{ENV}={raw!r}: not a number of MiB (or 'unlimited')") from None
    if not mib > 0 or mib != mib or mib == float("inf"):
        raise ConfigError(f"{ENV}={raw!r}: must be a positive number of MiB (or 'unlimited')")
    return int(mib * MIB)


def _mib(size: float) -> int:
    return int(-(-size // MIB))  # rounded up: the suggestion must be enough


def _how(limit: int | None, need: float, at_least: bool = False) -> str:
    default = "2x the input + 60 MiB" if not os.environ.get(ENV, "").strip() else f"{ENV}"
    return (f"the bound is {_mib(limit or 0)} MiB ({default}); set {ENV}={_mib(need * 1.25)} (MiB{', at least' if at_least else ''}) "
            f"or {ENV}=unlimited to go past it")


@record
class Budget:
    """What the run holds against the bound (bytes, estimated from counts)."""

    limit: int | None
    held: int  # the input, the interpreter and what the run keeps so far (image places aside)
    sites: Sized = ()  # the image places found so far
    kept: int = 0  # how many of them are kept (those of the documents read before this one)

    def limit_used(self) -> int:
        return self.held + self.kept * SITE_BYTES + max(0, len(self.sites) - self.kept) * FOUND_BYTES

    def keep_sites(self, where_of: Callable[[], Where]) -> None:
        """A document is read: its image places (merged) are kept until the end of the run."""
        self.kept = len(self.sites)
        self.hold(0, "the image places found", where_of)

    @classmethod
    def for_input(cls, data: bytes) -> Budget:
        return cls(limit_for(len(data)), BASE_BYTES + len(data))

    def left(self) -> float:
        return float("inf") if self.limit is None else self.limit - self.limit_used()

    def check_document(self, text: str, raw: bytes | None, where_at: Callable[[int], Where]) -> None:
        """Refuse a document whose node tree would not fit, before it is composed.  Small ones
        are not counted: even the densest text of that size fits.  ``where_at(offset)`` names the
        document at a byte offset of ``raw`` (a piece read whole holds many)."""
        if self.limit is None:
            return
        room = self.left() - sys.getsizeof(text)
        if len(text) * PEAK_NODES_PER_CHAR * NODE_BYTES <= room:
            return
        raw = raw if raw is not None else text.encode("utf-8")
        small = room / (PEAK_NODES_PER_CHAR * NODE_BYTES)  # (bytes: at least as many as characters)
        for start, end in _segments(raw):
            if end - start <= small:
                continue  # (a run of a million empty documents is never counted one by one)
            nodes = count_nodes(raw[start:end])
            if nodes is None:
                continue  # not valid YAML alone: the parse reports it
            need = nodes * NODE_BYTES
            if need > room:
                raise TooLarge(f"{where_at(start)}: too large to process within the memory bound: its {nodes:,} YAML nodes "
                               f"would need about {_mib(need)} MiB and {max(0, _mib(room))} MiB are left "
                               f"(after the input and the {len(self.sites):,} image places found so far); "
                               + _how(self.limit, self.limit - room + need, at_least=self.kept > 0)
                               + (" (or split the document: a List into its items, a large ConfigMap into several)" if not self.kept
                                  else " (or process the stream in parts)"))

    def hold(self, size: int, what: str, where_of: Callable[[], Where] | None = None) -> None:
        """Count ``size`` more bytes kept until the end of the run; refuse past the bound."""
        self.held += size
        if self.limit is not None and self.limit_used() > self.limit:
            place = f"{where_of()}: " if where_of is not None else ""
            raise TooLarge(f"{place}too large to process within the memory bound: {what}, the image places "
                           f"({len(self.sites):,}, each kept about {SITE_BYTES} bytes) and the input need about {_mib(self.limit_used())} MiB; "
                           + _how(self.limit, self.limit_used()))


def count_nodes(raw: bytes) -> int | None:
    """libyaml's events for ``raw`` (about one per node), counted in C; None if it does not parse."""
    import yaml
    from yaml._yaml import CParser

    parser = CParser(raw)
    try:
        count: int = parser.raw_parse()
        return count
    except yaml.YAMLError:
        return None
    finally:
        parser.dispose()


_DOCUMENT_LINE = re.compile(rb"\n(?=(?:---|\.\.\.)(?:[ \t\r\n]|$))")


def _segments(raw: bytes) -> Iterable[tuple[int, int]]:
    """Where each document of ``raw`` begins and ends, from its "---" and "..." lines (a piece
    read whole may hold many documents; each is composed and freed before the next)."""
    start = 0
    for match in _DOCUMENT_LINE.finditer(raw):
        yield start, match.end()
        start = match.end()
    yield start, len(raw)


class BoundedList(list[T]):
    """Image places: refused as they are appended past the bound (aliases can make one small
    document name an image at exponentially many places)."""

    def __init__(self, budget: Budget) -> None:
        super().__init__()
        self.budget = budget
        budget.sites = self

    def append(self, item: T) -> None:
        if self.budget.left() < FOUND_BYTES:
            where = getattr(item, "where", None)
            place = f"{where()}: " if callable(where) else ""
            need = self.budget.held + len(self) * SITE_BYTES
            raise TooLarge(f"{place}too large to process within the memory bound: the stream names images at more than "
                           f"{len(self):,} places (aliases count once each; each place found takes about {FOUND_BYTES} "
                           f"bytes, each kept {SITE_BYTES} until the output is written); "
                           + _how(self.budget.limit, need, at_least=True))
        super().append(item)
