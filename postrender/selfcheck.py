"""The last step before anything is written: every edited document must still parse.

The edits are exact by construction (image values and inserted pull secrets only), so this
never fires on a correct run; it is the guard that turns a splice bug into a clear exit 3
with nothing on stdout instead of invalid YAML handed to Helm.  Only edited documents are
read (libyaml's event parser, in C: no nodes are built).
"""
from __future__ import annotations

from collections.abc import Iterable

from .documents import Piece
from .splice import pieces


class InvalidOutput(AssertionError):
    """An edited document no longer parses: a bug in the edits, never the user's fault."""


def check_edited(parts: Iterable[Piece]) -> None:
    """Raise :class:`InvalidOutput` if an edited document of the output does not parse."""
    import yaml
    from yaml._yaml import CParser

    for piece in parts:
        if not piece.edits:
            continue
        assert piece.text is not None
        edited = "".join(pieces(piece.text, piece.edits)).encode("utf-8")
        parser = CParser(edited)
        try:
            parser.raw_parse()
        except yaml.YAMLError as exc:
            raise InvalidOutput(f"document {piece.index}: the edited document does not parse "
                                f"({str(exc).splitlines()[0]}); nothing was written") from None
        finally:
            parser.dispose()
