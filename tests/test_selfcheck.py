"""The final self-check: an edited document that no longer parses is a bug (exit 3, nothing
on stdout); correct edits pass, unedited documents are not read."""
from __future__ import annotations

import pytest

from postrender.documents import Piece
from postrender.selfcheck import InvalidOutput, check_edited
from postrender.splice import Edit

DOC = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: nginx}]\n"


def _piece(text: str, *edits: Edit) -> Piece:
    return Piece(0, len(text), 0, 0, text, list(edits))


def test_a_correct_edit_passes() -> None:
    at = DOC.index("nginx")
    check_edited([_piece(DOC, Edit(at, at + 5, "registry.intern/library/nginx"))])


@pytest.mark.parametrize("bad", ["[nginx", "nginx}", "'nginx", "a: b: c"])
def test_an_edit_that_breaks_the_document_is_a_bug(bad: str) -> None:
    at = DOC.index("nginx")
    with pytest.raises(InvalidOutput, match="document 0: the edited document does not parse"):
        check_edited([_piece(DOC, Edit(at, at + 5, bad))])


def test_unedited_documents_are_not_read() -> None:
    check_edited([Piece(0, 3, 0, 0, None, [])])  # no text kept: nothing to check


def test_the_cli_exits_3_with_nothing_on_stdout(monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    import io
    import sys

    from postrender.cli import main

    def broken(*args: object, **kwargs: object) -> list[Edit]:
        return [Edit(0, 0, "[")]

    monkeypatch.setattr("postrender.pipeline.secret_edits", broken)  # a pull-secret insertion that breaks the YAML
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(DOC.encode()), encoding="utf-8"))
    code = main(["--registry", "registry.intern", "--pull-secret", "regcred"])
    captured = capsysbinary.readouterr()
    assert code == 3
    assert captured.out == b""
    assert b"does not parse" in captured.err
