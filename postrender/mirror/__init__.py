"""The mirror list: what the private registry must hold, in the forms Harbor and friends take.

``merge`` turns the image lists of many releases (post-render JSON schema) into one
deduplicated, sorted list; each output format is a module whose ``Format`` is registered
in ``FORMATS`` below, a pure function of that list.  A new format is a module and a line here.
"""
from __future__ import annotations

from . import civitas, harbor, plain, skopeo
from .format import Format
from .listing import first_seen, merge, repository_below

FORMATS: dict[str, Format] = {f.name: f for f in (plain.TEXT, plain.MAP, plain.JSON, harbor.FORMAT, skopeo.FORMAT, civitas.FORMAT)}

__all__ = ["FORMATS", "Format", "first_seen", "merge", "repository_below"]
