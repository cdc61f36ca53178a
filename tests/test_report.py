"""Messages (postrender/report.py): one line each whatever the input quotes in them, control
characters escaped so no name, kind or annotation can forge a log line or drive a terminal;
with stderr closed, messages go to the log file only, never to stdout."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli
from postrender.report import Reporter, escape


@pytest.mark.parametrize(("raw", "shown"), [
    ("plain name-1.2 äöü 日本 😀", "plain name-1.2 äöü 日本 😀"),  # printable text stays as it is
    ("a\nok: all images served", "a\\nok: all images served"),
    ("a\r\nb", "a\\r\\nb"),
    ("\x1b[2J\x1b]0;title\x07", "\\e[2J\\e]0;title\\x07"),
    ("tab\there", "tab\\there"),
    ("nul\x00del\x7f", "nul\\x00del\\x7f"),
    ("nel\x85csi\x9b", "nel\\x85csi\\x9b"),
    ("line\u2028para\u2029", "line\\u2028para\\u2029"),
    ("bidi\u202eevil\u2066x\u2069", "bidi\\u202eevil\\u2066x\\u2069"),
    ("lone \udcff surrogate", "lone \\udcff surrogate"),
])
def test_escape(raw: str, shown: str) -> None:
    assert escape(raw) == shown
    assert "\n" not in escape(raw) and "\x1b" not in escape(raw)


def test_reporter_writes_one_line_per_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    log = tmp_path / "log"
    reporter = Reporter(log)
    reporter.warning("Pod/a\nok: all images served")
    reporter.error("\x1b[31mred\x1b[0m")
    assert err.getvalue() == ("civitas-postrender: warning: Pod/a\\nok: all images served\n"
                              "civitas-postrender: error: \\e[31mred\\e[0m\n")
    lines = log.read_text().splitlines()
    assert len(lines) == 2 and lines[0].endswith("warning: Pod/a\\nok: all images served")


def test_reporter_with_stderr_closed_never_prints_to_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", None)
    monkeypatch.setattr(sys, "stdout", out)
    log = tmp_path / "log"
    Reporter(log).warning("w")
    Reporter(tmp_path / "missing" / "log").error("e")  # and a log that cannot be written: no fallback to stdout
    assert out.getvalue() == ""
    assert log.read_text().endswith("civitas-postrender: warning: w\n")


POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  annotations:
    postrenderer.helm.sh/postrender-filename: {template}
spec:
  containers:
  - name: a
    image: $(params.IMAGE)
"""
FORGED = [
    ('"p\\nok: all images served"', "chart/pod.yaml"),
    ('"p\\e[2J\\e[31m"', "chart/pod.yaml"),
    ("p", '"chart/pod.yaml\\ncivitas-postrender: ok"'),
    ("p", '"chart/\\u2028pod.yaml\\r"'),
    ('"p\\x85q\\u202Er"', '"t\\x00"'),
]


@pytest.mark.parametrize(("name", "template"), FORGED)
@pytest.mark.parametrize("strict", [False, True])
def test_names_and_annotations_cannot_forge_lines(tmp_path: Path, name: str, template: str, strict: bool) -> None:
    log = tmp_path / "run.log"
    stream = POD.format(name=name, template=template)
    result = run_cli(["--registry", "registry.intern", "--log-file", str(log), *(["--strict"] if strict else [])], stream)
    assert result.returncode == (1 if strict else 0)
    stderr = result.stderr.decode()
    assert "\x1b" not in stderr and "\r" not in stderr and "\u2028" not in stderr and "\x85" not in stderr
    messages = [line for line in stderr.splitlines() if "not an image reference" in line]
    assert len(messages) == 1 and all(line.startswith("civitas-postrender: ") for line in stderr.splitlines())
    assert not any(line.startswith(("ok", "civitas-postrender: ok")) for line in stderr.splitlines())
    logged = log.read_text()
    assert all(line[:4].isdigit() for line in logged.splitlines())  # every log line starts with its timestamp


def test_kind_with_control_characters_is_escaped() -> None:
    stream = 'apiVersion: x.io/v1\nkind: "Foo\\nok\\e[0m"\nmetadata: {name: f}\nspec: {image: nginx:1.25}\n'
    result = run_cli(["--registry", "registry.intern"], stream)
    stderr = result.stderr.decode()
    assert "Foo\\nok\\e[0m" in stderr and "\x1b" not in stderr


@pytest.mark.parametrize("name", ['"p\\nok: all images served"', '"p\\e[2J"', '"p\\u2028q"'])
def test_check_report_lines_cannot_be_forged(name: str) -> None:
    """check prints its problems on stdout, each naming the object (errors.Where escapes it)."""
    stream = f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: a\n    image: nginx\n"
    result = run_cli(["check", "--registry", "registry.intern", "-"], stream)
    assert result.returncode == 1
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 1 and "is not served by registry.intern" in lines[0]
    assert "\x1b" not in result.stdout.decode() and "\u2028" not in result.stdout.decode()


def test_where_escapes_what_comes_from_the_input() -> None:
    from postrender.errors import Where

    where = Where(document=1, template="t\n.yaml", kind="Pod\x1b", name="a\u2028b", line=3, path="spec.x")
    assert str(where) == "document 1 (t\\n.yaml) Pod\\e/a\\u2028b line 3 at spec.x"


_READER_GOES_AWAY = r"""
import os, signal, sys
from pathlib import Path
from postrender import report

signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # as main() sets it
fifo = Path(sys.argv[1])
os.mkfifo(fifo)
reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader, so the log's open succeeds
opened = os.set_blocking

def reader_leaves(fd, flag):  # between the log's open and its write, the reader closes
    global reader
    if reader is not None:
        os.close(reader)
        reader = None
    opened(fd, flag)

report.os.set_blocking = reader_leaves
reporter = report.Reporter(fifo)
reporter.warning("first")
reporter.warning("second")
print("alive", reporter.log_file)
"""


def test_a_log_reader_that_goes_away_mid_write_ends_the_log_not_the_run(tmp_path: Path) -> None:
    """With SIGPIPE's default action (set by main), a log FIFO whose reader closed between the
    log's open and its write killed the whole run (exit -13, nothing on stdout: seen as a flaky
    test on a loaded machine). The write now fails with EPIPE: the log is given up, with a warning."""
    done = subprocess.run([sys.executable, "-c", _READER_GOES_AWAY, str(tmp_path / "log.fifo")], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().strip() == "alive None"
    assert b"cannot write log file" in done.stderr and b"its reader went away" in done.stderr
