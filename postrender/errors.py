"""One exception family; the CLI alone turns it into an exit code.

``PostrenderError`` and its subclasses are problems with what the user gave us
(input, options, rule files): exit 1.  Anything else escaping the pipeline is a
bug: exit 3.
"""
from __future__ import annotations

from .records import record
from .report import escape


@record(frozen=True)
class Where:
    """Where in the stream a problem or an image is: enough for a human to find it."""

    document: int | None = None
    template: str | None = None
    kind: str | None = None
    name: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    path: str | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.document is not None:
            parts.append(f"document {self.document}")
        if self.template:
            parts.append(f"({self.template})")
        if self.kind or self.name:
            parts.append(f"{self.kind or '?'}/{self.name or '?'}")
        if self.line is not None:
            loc = f"line {self.line}"
            if self.column is not None:
                loc += f" column {self.column}"
            parts.append(loc)
        if self.path:
            parts.append(f"at {self.path}")
        return escape(" ".join(parts)) if parts else "input"  # names, kinds, templates come from the input


class PostrenderError(Exception):
    """A problem the user can fix. May carry several problems, one line each."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems: tuple[str, ...] = problems or ("unknown problem",)


class InputError(PostrenderError):
    """The manifest stream cannot be processed as given."""


class ConfigError(PostrenderError):
    """An option, environment variable, config file or rule file is wrong."""


class CollisionError(InputError):
    """Two different source images would land on one target."""


class OutputError(PostrenderError):
    """An output file or stdout cannot be written."""
