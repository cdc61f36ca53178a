"""What an output format of ``images`` is: one value, registered in ``postrender.mirror.FORMATS``."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Warn = Callable[[str], None]


@dataclass(frozen=True)
class Format:
    name: str
    help: str  # one phrase for --help
    write: Callable[[dict[str, Any], Warn], str]  # the merged listing (and a way to warn) -> the output text
    needs_registry: bool = False
