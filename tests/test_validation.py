"""``validation``: the documents that cannot hold images are checked in a child process when
there is much to check.  Whatever runs where, the outcome is the same: the output, the warnings,
and the first error in stream order with the same message."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, run_cli, without_summary
from postrender import validation
from postrender.documents import split
from postrender.errors import PostrenderError
from postrender.testing import render

SETTINGS = {"registry": "registry.intern", "folder": "civitas", "pull_secrets": ("regcred",)}
CRD = ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: x{0}.example.com\n"
       "spec:\n  group: example.com\n  names: {{kind: X{0}, plural: x{0}s}}\n")
SERVICE = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s{0}\nspec:\n  ports: [{{port: 80}}]\n"
DEPLOYMENT = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d{0}\nspec:\n  template:\n    spec:\n"
              "      containers:\n      - name: a\n        image: nginx:1.{0}\n")
BAD_YAML = "apiVersion: v1\nkind: Service\nmetadata:\n  name: 'unclosed\n"  # a kind that holds no image: only checked
NO_KIND = "apiVersion: v1\nmetadata:\n  name: x\nspec:\n  image: nginx:1\n"  # read: its error is found reading it
BAD_UTF8 = b"apiVersion: v1\nkind: Service\nmetadata:\n  name: \xff\n"
BAD_UTF8_READ = DEPLOYMENT.format(9).encode().replace(b"name: d9", b"name: \xff")  # a kind that is read: decoded in its turn


@contextmanager
def mode(parallel: bool) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(validation, "PARALLEL_FROM", 0 if parallel else 1 << 62)
        yield


def outcome(data: bytes) -> tuple[str, ...]:
    try:
        result = render(data, **SETTINGS)
    except PostrenderError as exc:
        return ("error", str(exc))
    return ("ok", result.output, *result.warnings)


def both(data: bytes) -> tuple[str, ...]:
    with mode(parallel=False):
        inline = outcome(data)
    with mode(parallel=True):
        forked = outcome(data)
    assert forked == inline
    _assert_no_child_left()
    return inline


def _assert_no_child_left() -> None:
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def stream(*documents: str | bytes) -> bytes:
    return b"".join(b"---\n" + (d.encode() if isinstance(d, str) else d) for d in documents)


@pytest.mark.parametrize(("name", "documents", "first"), [
    ("all valid", (CRD.format(1), DEPLOYMENT.format(2), SERVICE.format(3)), None),
    ("a checked document is invalid", (CRD.format(1), BAD_YAML, DEPLOYMENT.format(2)), "document 1"),
    ("checked invalid before a read error", (CRD.format(1), BAD_YAML, NO_KIND), "document 1"),
    ("a read error before a checked invalid one", (NO_KIND, CRD.format(1), BAD_YAML), "document 0"),
    ("two checked invalid: the first", (SERVICE.format(0), BAD_YAML, CRD.format(2), BAD_YAML), "document 1"),
    ("checked invalid before invalid UTF-8", (BAD_YAML, SERVICE.format(1), BAD_UTF8), "document 0"),
    ("invalid UTF-8 before a checked invalid one", (CRD.format(0), BAD_UTF8, BAD_YAML), "document 1"),
    ("a read error after the last checked one", (CRD.format(0), SERVICE.format(1), NO_KIND), "document 2"),
    ("checked invalid before invalid UTF-8 in a read one", (CRD.format(0), BAD_YAML, BAD_UTF8_READ), "document 1"),
    ("invalid UTF-8 in a read one before a checked invalid one", (BAD_UTF8_READ, CRD.format(0), BAD_YAML), "document 0"),
])
def test_the_same_outcome_and_first_error_either_way(name: str, documents: tuple[str | bytes, ...], first: str | None) -> None:
    result = both(stream(*documents))
    if first is None:
        assert result[0] == "ok" and "registry.intern/civitas/library/nginx:1.2" in result[1]
    else:
        assert result[0] == "error" and result[1].startswith(first + " "), result


def test_every_fixture_the_same_either_way() -> None:
    files = sorted(p for p in ROOT.glob("fixtures/**/*.yaml") if "hostile" not in p.parts)
    assert len(files) > 40
    for path in files:
        both(path.read_bytes())


@pytest.mark.parametrize("how", ["killed", "a bug", "silent"])
def test_a_child_that_does_not_answer_leaves_the_checks_here(how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed (out of memory), or broken: every document it had is checked in this process."""
    def broken(write_end: int, *_: object) -> None:
        if how == "killed":
            os.kill(os.getpid(), 9)
        os.write(write_end, b"-1\n" if how == "a bug" else b"")
        os._exit(0 if how == "a bug" else 7)

    monkeypatch.setattr(validation, "_child", broken)
    data = stream(CRD.format(0), DEPLOYMENT.format(1), BAD_YAML)
    with mode(parallel=True):
        assert outcome(data)[0] == "error" and outcome(data)[1].startswith("document 2 ")
        assert outcome(stream(CRD.format(0), DEPLOYMENT.format(1)))[0] == "ok"
    _assert_no_child_left()


def test_a_failure_elsewhere_stops_the_child() -> None:
    data = stream(NO_KIND, *[CRD.format(n) for n in range(200)])
    with mode(parallel=True):
        assert outcome(data)[0] == "error"
    _assert_no_child_left()


def test_a_large_stream_through_the_command(tmp_path: Path) -> None:
    """Past PARALLEL_FROM in a real run: stdout holds the stream once (the child writes nothing),
    and an invalid CRD is still reported with its document."""
    crds = [CRD.format(n) + "  versions:\n" + "".join(f"  - name: v{k}\n    served: true\n" for k in range(1000)) for n in range(150)]
    data = stream(*crds[:75], DEPLOYMENT.format(1), *crds[75:])
    assert len(data) > validation.PARALLEL_FROM
    result = run_cli(["--registry", "registry.intern", "--folder", "civitas"], stdin=data)
    assert result.returncode == 0, result.stderr
    assert result.stdout == data.replace(b"image: nginx:1.1", b"image: registry.intern/civitas/library/nginx:1.1")
    broken = stream(*crds[:140], BAD_YAML, *crds[140:])
    result = run_cli(["--registry", "registry.intern"], stdin=broken)
    assert result.returncode == 1 and result.stdout == b""
    assert without_summary(result.stderr).strip().startswith("civitas-postrender: error: document 140 "), result.stderr


# -- review (helper-22) --------------------------------------------------------------------------
def test_an_interrupt_while_waiting_for_the_child_stays_an_interrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the parent waits (``_reap``): KeyboardInterrupt (exit 130), the child reaped."""
    real = os.waitpid
    calls: list[int] = []

    def interrupted_once(pid: int, options: int) -> tuple[int, int]:
        calls.append(pid)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real(pid, options)

    monkeypatch.setattr(validation.os, "waitpid", interrupted_once)
    with mode(parallel=True), pytest.raises(KeyboardInterrupt):
        outcome(stream(CRD.format(0), DEPLOYMENT.format(1)))
    monkeypatch.setattr(validation.os, "waitpid", real)
    _assert_no_child_left()


def test_no_fork_available_checks_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    fds = len(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(validation.os, "fork", no_fork)
    with mode(parallel=True):
        result = outcome(stream(CRD.format(0), DEPLOYMENT.format(1), BAD_YAML))
    assert result[0] == "error" and result[1].startswith("document 2 ")
    assert len(os.listdir("/proc/self/fd")) == fds


def test_an_error_before_every_checked_piece_does_not_wait_for_the_child() -> None:
    data = stream(NO_KIND, *[CRD.format(n) for n in range(3)])
    parts = split(data)
    with mode(parallel=True):
        check = validation.Validation(data, parts, [1, 2, 3])
        assert check.parallel
        assert check.first_error(before=0) is None and check.pid is None  # stopped, reaped
    _assert_no_child_left()


def test_a_bug_after_an_invalid_document_reports_the_invalid_document(monkeypatch: pytest.MonkeyPatch) -> None:
    """As before the validation ran apart: the first problem in stream order is what is said."""
    from postrender import pipeline

    real = pipeline._Reader.read

    def broken(self: Any, piece: Any, number: int) -> None:
        if number == 2:
            raise RuntimeError("a bug")
        real(self, piece, number)

    monkeypatch.setattr(pipeline._Reader, "read", broken)
    data = stream(DEPLOYMENT.format(0), BAD_YAML, DEPLOYMENT.format(2))
    assert both(data)[0] == "error"  # the invalid document 1, in both modes
    monkeypatch.setattr(validation, "PARALLEL_FROM", 0)
    with pytest.raises(RuntimeError):
        render(stream(DEPLOYMENT.format(0), SERVICE.format(1), DEPLOYMENT.format(2)), **SETTINGS)
