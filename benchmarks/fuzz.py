"""Mutation fuzzer for the post-renderer: the tool may only ever exit 0 or 1.

Takes real streams (fixtures/, and ../shared/corpus when present), mutates each thousands of
times (byte flips, line deletions/duplications, indentation shifts, truncation, inserted
tabs/quotes/colons/anchors/aliases, CRLF, document shuffles, hostile image values), runs the
post-render command in-process, and checks each run:

- exit 0 or 1 only (never 3, never a traceback, never a hang: each run has an alarm);
- exit 1: nothing on stdout, one line per problem on stderr;
- exit 0: the output is still YAML, with as many documents as the input, it loads as the
  input does except at image values and inserted pull secrets (merge keys resolved as
  Kubernetes' decoder does), and a second run on it changes nothing.

Mutation kinds aimed at YAML's corners: merge keys (``<<: {image: ...}``, ``<<: *a``),
duplicate keys (an earlier ``kind:``/``image:``, the last one wins), exotic line breaks
(lone CR, NEL, U+2028/U+2029, a second BOM), aliases next to comments that name them, and
control characters in names, kinds, annotations, templates and images (escaped in double quotes
or raw): stderr must hold only whole ``civitas-postrender:`` lines with every control character
escaped.  Round three: image values in every scalar style (quoted, escaped, block, tagged,
anchored, split by an escaped line break), document ends, directives, empty and null documents,
separators with anchors, tags, comments or a byte-order mark, documents written as JSON, and
existing ``imagePullSecrets`` in odd shapes (empty, null, flow with a comment or trailing comma,
anchored, tagged, a mapping, plain strings) for ours to go into.  I/O kinds: a share of the successful runs runs again with a full stdout (exit 1, one
error line, nothing written), a closed stdout (exit 1) or a closed stderr (the same stdout: no message
falls back to it).  Special files (``/dev/full``, FIFOs, ``/dev/zero`` as input) are catalogue
cases in tests/test_hostile_inputs.py: they are about the command line, not the stream.

Seeded and repeatable.  Prints counts per exit code and failure kind; saves every failing
input (with its arguments and stderr) under /tmp/civitas-fuzz/.

    python benchmarks/fuzz.py --iterations 5000 --seed 1 [--corpus]

Any failure makes the exit status 1.
"""
from __future__ import annotations

import argparse
import collections
import errno
import io
import random
import re
import resource
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CORPUS = ROOT.parent / "shared" / "corpus"
SAVE_DIR = Path("/tmp/civitas-fuzz")
RUN_SECONDS = 20  # alarm per run: a hang is a failure

Mutator = Callable[[random.Random, bytes], bytes]

TOKENS = [b"\t", b"'", b'"', b":", b": ", b" :", b"&a ", b"*a", b"*a ", b"- ", b"{", b"}", b"[", b"]", b",", b"#", b" #",
          b"|", b">", b"!", b"!!str ", b"!!binary ", b"%", b"@", b"`", b"? ", b"<<: *a\n", b"---\n", b"...\n", b"\\",
          b"\x00", b"\x07", b"\x85", b"\xe2\x80\xa8", b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\r", b"=", b"~", b"null"]
HOSTILE_IMAGES = [b"user:pa55word@registry.example.com/app:1", b"$(params.IMAGE)", b"ko://github.com/x/y", b"UPPER/case:1",
                  b"a" * 600, b"docker.io/x/y:1 docker.io/x/z:2", b"\"\"", b"''", b"[]", b"{}", b"~",
                  b"registry.intern/already/private:1", b"localhost:5000/x@sha256:" + b"0" * 64, b"nginx:1.25@sha256:" + b"a" * 64,
                  b"&img quay.io/x/y:1", b"*img", b"!!str quay.io/x/y:2", b"\"quay.io\\x2fx\\x2fy:3\""]


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def _pick(rnd: random.Random, lines: list[bytes], pattern: bytes) -> tuple[int, bytes] | None:
    """A random line matching ``pattern`` and its line ending, or None when no line does."""
    places = [i for i, line in enumerate(lines) if re.match(pattern, line)]
    if not places:
        return None
    i = rnd.choice(places)
    return i, b"\r\n" if lines[i].endswith(b"\r\n") else b"\n"


def byte_flip(rnd: random.Random, data: bytes) -> bytes:
    if not data:
        return bytes([rnd.randrange(256)])
    i = rnd.randrange(len(data))
    return data[:i] + bytes([rnd.randrange(256)]) + data[i + 1:]


def bit_flip(rnd: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    i = rnd.randrange(len(data))
    return data[:i] + bytes([data[i] ^ (1 << rnd.randrange(8))]) + data[i + 1:]


def delete_line(rnd: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    del lines[rnd.randrange(len(lines))]
    return b"".join(lines)


def duplicate_line(rnd: random.Random, data: bytes) -> bytes:  # also makes duplicate keys
    lines = _lines(data)
    i = rnd.randrange(len(lines))
    lines.insert(i, lines[i])
    return b"".join(lines)


def swap_lines(rnd: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    i, j = rnd.randrange(len(lines)), rnd.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return b"".join(lines)


def shift_indent(rnd: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    i = rnd.randrange(len(lines))
    if rnd.random() < 0.5:
        lines[i] = b" " * rnd.randint(1, 4) + lines[i]
    else:
        lines[i] = lines[i][rnd.randint(1, 4):] if lines[i].startswith(b" ") else lines[i]
    return b"".join(lines)


def truncate(rnd: random.Random, data: bytes) -> bytes:
    return data[: rnd.randrange(len(data) + 1)]


def insert_token(rnd: random.Random, data: bytes) -> bytes:
    i = rnd.randrange(len(data) + 1)
    return data[:i] + rnd.choice(TOKENS) + data[i:]


def to_crlf(rnd: random.Random, data: bytes) -> bytes:
    if rnd.random() < 0.5:
        return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    lines = _lines(data)  # mixed: a few lines only
    for _ in range(rnd.randint(1, 5)):
        i = rnd.randrange(len(lines))
        if lines[i].endswith(b"\n") and not lines[i].endswith(b"\r\n"):
            lines[i] = lines[i][:-1] + b"\r\n"
    return b"".join(lines)


def shuffle_documents(rnd: random.Random, data: bytes) -> bytes:
    parts = data.split(b"\n---")
    head, rest = parts[0], parts[1:]
    rnd.shuffle(rest)
    if rest and rnd.random() < 0.3:
        rest.append(rnd.choice(rest))  # a document twice
    return b"\n---".join([head, *rest])


def anchor_alias(rnd: random.Random, data: bytes) -> bytes:
    """Anchor one value and point another at it (often across kinds of node, or documents)."""
    lines = _lines(data)
    with_values = [i for i, line in enumerate(lines) if b": " in line and not line.lstrip().startswith(b"#")]
    if len(with_values) < 2:
        return data
    a, b = rnd.sample(with_values, 2)
    lines[a] = lines[a].replace(b": ", b": &a ", 1)
    key, _, _ = lines[b].partition(b": ")
    lines[b] = key + b": *a" + (b"\r\n" if lines[b].endswith(b"\r\n") else b"\n")
    return b"".join(lines)


def merge_key(rnd: random.Random, data: bytes) -> bytes:
    """Move a ``key: value`` into a merge (``<<: {key: value}``), or merge an anchored mapping
    into a mapping (``<<: *m``), or merge two (``<<: [*m, *n]``)."""
    lines = _lines(data)
    pairs = [i for i, line in enumerate(lines) if re.match(rb"^( *)(?:- )?[A-Za-z][\w.-]*: [^&*#\s{\[|>'\"][^#]*$", line)]
    if not pairs:
        return data
    i = rnd.choice(pairs)
    match = re.match(rb"^( *(?:- )?)([A-Za-z][\w.-]*): (.*?)(\r?\n)?$", lines[i], re.DOTALL)
    if match is None:
        return data
    lead, key, value, end = match.group(1), match.group(2), match.group(3), match.group(4) or b""
    choice = rnd.randrange(3)
    if choice == 0:
        lines[i] = lead + b"<<: {" + key + b": " + value + b"}" + end
    else:  # anchor a mapping earlier at this level, then merge it
        anchors = [j for j in range(i) if lines[j].rstrip().endswith(b":") and b"#" not in lines[j]]
        if not anchors:
            return data
        j = rnd.choice(anchors)
        lines[j] = lines[j].rstrip(b"\r\n").rstrip() + b" &m" + (b"\r\n" if lines[j].endswith(b"\r\n") else b"\n")
        merged = b"*m" if choice == 1 else b"[*m, *m]"
        lines.insert(i, b" " * len(lead) + b"<<: " + merged + (end or b"\n"))
    return b"".join(lines)


def duplicate_key(rnd: random.Random, data: bytes) -> bytes:
    """Write a key twice: an earlier ``kind:`` (a kind that holds nothing) or an earlier value
    of any key; Kubernetes takes the last."""
    lines = _lines(data)
    picked = _pick(rnd, lines, rb"^ *(?:- )?[\"']?[A-Za-z][\w.-]*[\"']? *: ")
    if picked is None:
        return data
    i, end = picked
    if lines[i].startswith(b"kind:") or rnd.random() < 0.3:
        decoy = rnd.choice([b"kind: Service", b"kind: ConfigMap", b'"kind": Service', b"kind : Service"])
        kinds = [j for j, line in enumerate(lines) if line.startswith(b"kind")]
        at = kinds[0] if kinds else 0
        lines.insert(at, decoy + end)
    else:  # an earlier value under the same key, just before it
        match = re.match(rb"^( *)((?:- )?)([^:]*): ", lines[i])
        if match is None:
            return data
        indent, dash, key = match.groups()
        lines[i:i + 1] = [indent + dash + key + b": decoy:0" + end, indent + b" " * len(dash) + lines[i][len(indent) + len(dash):]]
    return b"".join(lines)


EXOTIC_BREAKS = [b"\r", b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9"]


def exotic_break(rnd: random.Random, data: bytes) -> bytes:
    """Turn line breaks into ones YAML 1.1 (libyaml, go-yaml) also ends lines at: lone CR,
    NEL, U+2028, U+2029; or add a second byte-order mark."""
    if rnd.random() < 0.1:
        return b"\xef\xbb\xbf" * rnd.randint(1, 2) + data
    breaks = [m.start() for m in re.finditer(rb"(?<!\r)\n", data)]
    if not breaks:
        return data
    out = bytearray(data)
    for position in sorted(rnd.sample(breaks, min(len(breaks), rnd.randint(1, 4))), reverse=True):
        out[position:position + 1] = rnd.choice(EXOTIC_BREAKS)
    return bytes(out)


def comment_alias(rnd: random.Random, data: bytes) -> bytes:
    """Anchor a value, then alias it from another key with a comment naming the alias in
    between (``image: # was *a`` / ``*a`` on the next line) or after it."""
    lines = _lines(data)
    values = [i for i, line in enumerate(lines) if re.match(rb"^ *(?:- )?[A-Za-z][\w.-]*: [^&*#\s{\[|>'\"][^#]*$", line)]
    if len(values) < 2:
        return data
    a, b = sorted(rnd.sample(values, 2))
    lines[a] = lines[a].replace(b": ", b": &a ", 1)
    key = lines[b].partition(b": ")[0]
    end = b"\r\n" if lines[b].endswith(b"\r\n") else b"\n"
    indent = b" " * (len(key) - len(key.lstrip(b" -")) + 2)
    lines[b] = rnd.choice([key + b": # was *a" + end + indent + b"*a" + end, key + b": *a # *a" + end,
                           key + b": # *a *a" + end + indent + b"# *a" + end + indent + b"*a" + end])
    return b"".join(lines)


def hostile_image(rnd: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    images = [i for i, line in enumerate(lines) if b"image: " in line or b"image\": " in line or b"value: " in line]
    if not images:
        return data
    i = rnd.choice(images)
    key, sep, _ = lines[i].partition(b": ")
    lines[i] = key + sep + rnd.choice(HOSTILE_IMAGES) + (b"\r\n" if lines[i].endswith(b"\r\n") else b"\n")
    return b"".join(lines)


# Control characters as YAML can carry them: escapes in double quotes (any code point), raw where YAML
# allows them (C1, DEL, separators, bidi overrides), raw C0 which YAML refuses (exit 1).
CONTROL_ESCAPES = [b"\\e[2J", b"\\e]0;x\\a", b"\\n", b"\\r", b"\\nok: all images served", b"\\x9b31m", b"\\u2028",
                   b"\\u202e", b"\\0", b"\\x7f", b"\\N", b"\\L", b"\\P", b"\\b", b"\\v"]
CONTROL_RAW = [b"\xc2\x85", b"\xc2\x9b", b"\x7f", b"\xe2\x80\xa8", b"\xe2\x80\xae", b"\x1b", b"\x07", b"\x00", b"\x0c"]


def control_chars(rnd: random.Random, data: bytes) -> bytes:
    """Control characters in a name, kind, namespace, annotation, ``# Source:`` template or image:
    nothing from the input may reach stderr or the log unescaped (a forged line, a driven terminal)."""
    lines = _lines(data)
    places = [i for i, line in enumerate(lines)
              if re.match(rb"^ *(?:- )?(?:name|kind|namespace|image|[\w./-]+/[\w.-]+): \S", line) or line.startswith(b"# Source: ")]
    if not places:
        return data
    i = rnd.choice(places)
    end = b"\r\n" if lines[i].endswith(b"\r\n") else b"\n"
    key, sep, value = lines[i].rstrip(b"\r\n").partition(b": ")
    value = value.strip(b"\"'")
    cut = rnd.randrange(len(value) + 1)
    if key.startswith(b"# Source") or rnd.random() < 0.4:
        inner = value[:cut] + rnd.choice(CONTROL_RAW) + value[cut:]
        lines[i] = key + sep + inner + end
    else:
        inner = value[:cut].replace(b"\\", b"\\\\").replace(b'"', b'\\"') + rnd.choice(CONTROL_ESCAPES) + value[cut:]
        lines[i] = key + sep + b'"' + inner + b'"' + end
    return b"".join(lines)


# Round three: how an image value may be written (every YAML scalar style, escapes, tags, anchors).
QUOTE_STYLES: list[Callable[[bytes, bytes], bytes]] = [
    lambda v, ind: b"'" + v.replace(b"'", b"''") + b"'",
    lambda v, ind: b'"' + v + b'"',
    lambda v, ind: b'"' + v.replace(b"/", b"\\/").replace(b":", b"\\x3a") + b'"',  # escapes: rewritten whole
    lambda v, ind: b"|-\n" + ind + b"  " + v,
    lambda v, ind: b">-\n" + ind + b"  " + v,
    lambda v, ind: b"|\n" + ind + b"  " + v,  # a trailing line break: not a reference any more
    lambda v, ind: b"!!str " + v,
    lambda v, ind: b"&q " + v,
    lambda v, ind: b"!!str &q " + v,
    lambda v, ind: b"\t" + v + b"\t# tabbed",
    lambda v, ind: b'"' + v[: len(v) // 2] + b"\\\n" + ind + b"  " + v[len(v) // 2:] + b'"',  # an escaped line break
]


def quote_image(rnd: random.Random, data: bytes) -> bytes:
    """Write an image (or env) value in another scalar style: quoted, escaped, block, tagged, anchored."""
    lines = _lines(data)
    picked = _pick(rnd, lines, rb"^ *(?:- )?(?:image|value): [A-Za-z0-9][^\s#'\"]*\r?\n?$")
    if picked is None:
        return data
    i, end = picked
    key, _, value = lines[i].rstrip(b"\r\n").partition(b": ")
    indent = b" " * (len(key) - len(key.lstrip(b" -")))
    lines[i] = key + b": " + rnd.choice(QUOTE_STYLES)(value, indent).replace(b"\n", end) + end
    return b"".join(lines)


DOCUMENT_MARKERS = [b"...\n---\n", b"...\n%YAML 1.1\n---\n", b"...\n%TAG !e! tag:example.com,2000:\n---\n", b"---\n---\n",
                    b"--- ~\n---\n", b"--- {}\n---\n", b"---\n...\n---\n", b"--- # c\n", b"--- &doc\n", b"--- !!map\n",
                    b"---\t\n", b"---   \n", b"\xef\xbb\xbf---\n", b"---\n\xef\xbb\xbf"]


def document_markers(rnd: random.Random, data: bytes) -> bytes:
    """Replace a document separator with document ends, directives, empty and null documents, a
    separator carrying an anchor, tag or comment, or a byte-order mark before or after it."""
    separators = [m.start() for m in re.finditer(rb"(?m)^---\r?\n", data)]
    if not separators:
        return rnd.choice(DOCUMENT_MARKERS[:3]).split(b"...\n", 1)[-1] + data
    at = rnd.choice(separators)
    end = data.index(b"\n", at) + 1
    marker = rnd.choice(DOCUMENT_MARKERS)
    if data[at:end].endswith(b"\r\n"):
        marker = marker.replace(b"\n", b"\r\n")
    return data[:at] + marker + data[end:]


def to_json(rnd: random.Random, data: bytes) -> bytes:
    """One document written as JSON (one line, or indented), as kubectl and Helm 4 may print it."""
    import json

    import yaml

    parts = re.split(rb"(?m)^---[ \t]*\r?\n", data)
    order = list(range(len(parts)))
    rnd.shuffle(order)
    for i in order:
        if b"&" in parts[i] and b"*" in parts[i]:
            continue  # aliases: JSON would write each one out in full (an alias bomb, a cycle)
        try:
            document = yaml.safe_load(parts[i].decode("utf-8"))
            text = json.dumps(document, indent=rnd.choice([None, 2]), ensure_ascii=rnd.random() < 0.5, default=str)
        except Exception:  # not YAML PyYAML reads, or keys JSON cannot hold: try another document
            continue
        if isinstance(document, dict):
            head = b"".join(line for line in _lines(parts[i]) if line.startswith(b"#"))  # keep "# Source:"
            parts[i] = head + text.encode("utf-8") + b"\n"
            return b"---\n".join(parts)
    return data


PULL_SECRET_SHAPES = [b"imagePullSecrets: []", b"imagePullSecrets: ~", b"imagePullSecrets:", b"imagePullSecrets: [{name: old} # c\n{i}]",
                      b"imagePullSecrets: [{name: old},]", b"imagePullSecrets: &ps\n{i}- name: old", b"imagePullSecrets: !!seq\n{i}- name: old",
                      b"imagePullSecrets: [ # none\n{i}]", b"imagePullSecrets:\n{i}- name: old\n{i}# trailing", b"imagePullSecrets: {}",
                      b"imagePullSecrets: [\"regcred\"]", b"imagePullSecrets:\n{i}-   name: old", b"imagePullSecrets: [{name: old}]\t# tab"]


def pull_secret_shape(rnd: random.Random, data: bytes) -> bytes:
    """Give a pod spec an existing ``imagePullSecrets`` in an odd shape (empty, null, flow with a
    comment or trailing comma, anchored, tagged, a mapping, plain strings) for ours to go into."""
    lines = _lines(data)
    picked = _pick(rnd, lines, rb"^ *(?:- )?(?:initContainers|containers):\s*$")
    if picked is None:
        return data
    i, end = picked
    indent = b" " * (len(lines[i]) - len(lines[i].lstrip(b" -")))
    shape = rnd.choice(PULL_SECRET_SHAPES).replace(b"{i}", indent + b"  ").replace(b"\n", end)
    lines.insert(i, indent + shape + end)
    return b"".join(lines)


MUTATORS: dict[str, Mutator] = {
    "byte_flip": byte_flip, "bit_flip": bit_flip, "delete_line": delete_line, "duplicate_line": duplicate_line,
    "swap_lines": swap_lines, "shift_indent": shift_indent, "truncate": truncate, "insert_token": insert_token,
    "crlf": to_crlf, "shuffle_documents": shuffle_documents, "anchor_alias": anchor_alias, "hostile_image": hostile_image,
    "merge_key": merge_key, "duplicate_key": duplicate_key, "exotic_break": exotic_break, "comment_alias": comment_alias,
    "control_chars": control_chars, "quote_image": quote_image, "document_markers": document_markers, "to_json": to_json,
    "pull_secret_shape": pull_secret_shape,
}

ARG_SETS: list[list[str]] = [
    ["--registry", "registry.intern"],
    ["--registry", "registry.intern", "--folder", "civitas", "--pull-secret", "regcred"],
    ["--registry", "harbor.example:8443", "--pull-secret", "regcred", "--pull-secret", "backup", "--rewrite-candidates"],
    ["--registry", "registry.intern", "--strict", "--exclude", "docker.io/library/busybox"],
]


def mutate(rnd: random.Random, data: bytes) -> tuple[bytes, list[str]]:
    names = [rnd.choice(list(MUTATORS)) for _ in range(rnd.randint(1, 3))]
    for name in names:
        data = MUTATORS[name](rnd, data)
    return data, names


# -- running the tool in-process -----------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    code: int | str  # exit code, or "hang"
    stdout: bytes
    stderr: str


class _Hang(BaseException):
    pass


class _Keep(io.BytesIO):
    """A byte buffer that survives its text wrapper being closed."""

    def close(self) -> None:
        pass


def _alarm(signum: int, frame: object) -> None:
    raise _Hang()


class _Full(_Keep):
    """A stdout on a full disk (``>/dev/full``): every write fails."""

    def write(self, data: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


# How a run's standard streams may be set up besides the normal pipes (--io kinds).
IO_KINDS = ("full-stdout", "closed-stdout", "closed-stderr")


def run_inprocess(args: Sequence[str], data: bytes, seconds: int = RUN_SECONDS, streams: str | None = None) -> Outcome:
    """``python -m postrender ARGS < data`` in this process; signal handlers are restored after.
    ``streams`` is one of ``IO_KINDS`` (a full or closed stdout, a closed stderr), or normal pipes."""
    from postrender.cli import main

    saved_streams = sys.stdin, sys.stdout, sys.stderr
    saved_signals = {s: signal.getsignal(s) for s in (signal.SIGPIPE, signal.SIGTERM, signal.SIGALRM)}
    out, err = (_Full() if streams == "full-stdout" else _Keep()), _Keep()
    sys.stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    sys.stderr = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    if streams == "closed-stdout":
        sys.stdout = None  # type: ignore[assignment]  # as Python sets it for 1>&-
    if streams == "closed-stderr":
        sys.stderr = None  # type: ignore[assignment]
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        code: int | str = main(list(args))
    except _Hang:
        code = "hang"
    finally:
        signal.alarm(0)
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                try:
                    stream.flush()
                except OSError:
                    pass
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        for sig, handler in saved_signals.items():
            signal.signal(sig, handler)
    return Outcome(code, out.getvalue(), err.getvalue().decode("utf-8", "replace"))


def _document_count(text: bytes) -> int | None:
    """Documents a YAML loader sees, or None when the text is not YAML."""
    import yaml

    try:
        loader = yaml.CBaseLoader(text.decode("utf-8").lstrip("\ufeff"))
        try:
            count = 0
            while loader.check_node():
                loader.get_node()
                count += 1
            return count
        finally:
            loader.dispose()
    except Exception:  # any parse failure, including recursion on hostile input
        return None


def check(args: Sequence[str], data: bytes, outcome: Outcome) -> str | None:
    """The failure kind, or None when the run behaved."""
    if outcome.code == "hang":
        return "hang"
    if "Traceback" in outcome.stderr:
        return "traceback"
    if outcome.code not in (0, 1):
        return f"exit-{outcome.code}"
    if _UNSAFE.search(outcome.stderr.replace("\n", "")) or any(
            not line.startswith("civitas-postrender: ") for line in outcome.stderr.splitlines()):
        return "unescaped-stderr"  # a value from the input drove the terminal or forged a line
    if outcome.code == 1:
        if outcome.stdout:
            return "stdout-on-failure"
        if not outcome.stderr.startswith("civitas-postrender: error: "):
            return "unclear-error"
        return None
    before = _document_count(data)
    after = _document_count(outcome.stdout)
    if after is None:
        return "output-not-yaml"
    if before is not None and before != after and data.strip():
        return "document-count-changed"
    if unexpected_change(data, outcome.stdout, _option(args, "--registry"), _options(args, "--pull-secret"),
                         _option(args, "--folder") or None) is not None:
        return "changed-elsewhere"
    again = run_inprocess(args, outcome.stdout)
    if again.code != 0 or again.stdout != outcome.stdout:
        return "not-idempotent"  # a second run must change nothing
    return None


# What report.escape escapes (C0/C1 controls, DEL, separators, bidi controls, lone surrogates).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def check_streams(args: Sequence[str], data: bytes, normal: Outcome, streams: str) -> str | None:
    """A run that succeeded, again with ``streams``: a full or closed stdout is exit 1 with one line
    and nothing written; a closed stderr changes nothing on stdout (no message falls back to it)."""
    outcome = run_inprocess(args, data, streams=streams)
    if outcome.code == "hang" or "Traceback" in outcome.stderr:
        return f"{streams}-{'hang' if outcome.code == 'hang' else 'traceback'}"
    if streams == "closed-stderr":
        return None if (outcome.code, outcome.stdout) == (0, normal.stdout) else f"{streams}-changed-stdout"
    expected = "cannot write stdout" if streams == "full-stdout" else "stdout is closed"
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("civitas-postrender: error: ")]
    if outcome.code != 1 or outcome.stdout or len(errors) != 1 or expected not in errors[0]:
        return f"{streams}-exit-{outcome.code}"
    return None


def _options(args: Sequence[str], name: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == name]


def _option(args: Sequence[str], name: str) -> str:
    found = _options(args, name)
    return found[-1] if found else ""


# -- the output loads as the input does, except at images and pull secrets ---------------------
SECRET_KEYS = ("imagePullSecrets", "imagePullSecret", "pullSecretRef")  # pullSecretRef: Confluent for Kubernetes


def load_as_kubernetes(data: bytes) -> list[Any] | None:
    """The documents as Kubernetes reads them (merge keys applied where written, as go-yaml v2
    does; the last of duplicate keys), or None when PyYAML cannot load them."""
    import yaml

    class Loader(yaml.CSafeLoader):
        def flatten_mapping(self, node: Any) -> None:
            pairs = []
            for key, value in node.value:
                if key.tag != "tag:yaml.org,2002:merge":
                    pairs.append((key, value))
                    continue
                sources = value.value[::-1] if isinstance(value, yaml.SequenceNode) else [value]
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        raise yaml.YAMLError("merge of a non-mapping")
                    self.flatten_mapping(source)
                    pairs += source.value
            node.value = pairs

    try:
        text = data.decode("utf-8").lstrip("\ufeff")
        return [d for d in yaml.load_all(text, Loader=Loader) if d is not None]
    except (Exception, RecursionError):  # anything PyYAML cannot build (=, recursion, bad merges)
        return None


def unexpected_change(before: bytes, after: bytes, registry: str, secrets: Sequence[str], folder: str | None = None) -> str | None:
    """Where ``after`` loads differently from ``before`` other than at an image (a string now
    naming the registry, or a split reference's repository now under ``folder``) or an added pull
    secret; None when there is no such place (or either does not load with PyYAML, so there is
    nothing to compare)."""
    old, new = load_as_kubernetes(before), load_as_kubernetes(after)
    if old is None or new is None:  # an output libyaml cannot read is "output-not-yaml"; PyYAML may run out of memory
        return None
    if len(old) != len(new):
        return f"{len(old)} documents became {len(new)}"
    seen: set[tuple[int, int]] = set()
    for index, (a, b) in enumerate(zip(old, new)):
        problem = _diff(a, b, f"document {index}", (registry, folder), tuple(secrets), seen, False)
        if problem:
            return problem
    return None


def _diff(a: Any, b: Any, path: str, target: tuple[str, str | None], secrets: tuple[str, ...], seen: set[tuple[int, int]],
          in_secrets: bool) -> str | None:
    registry, folder = target
    if isinstance(a, (dict, list)):
        if (id(a), id(b)) in seen:  # shared through aliases: compared once (alias bombs stay linear)
            return None
        seen.add((id(a), id(b)))
    if isinstance(a, dict) and isinstance(b, dict):
        for key in b:
            if key in a or key in SECRET_KEYS or _only_secrets(b[key], secrets):
                continue
            if in_secrets and key == "name" and b[key] in secrets:
                continue  # a nameless single secret (MinIO's imagePullSecret: {}) gets ours
            if isinstance(b[key], str) and registry and registry.lower() in b[key].lower():
                continue  # an image the operator would have implied, now pinned to the registry
            return f"{path}: key {key!r} added"
        for key in a:
            if key not in b:
                return f"{path}: key {key!r} removed"
            if a[key] in (None, "") and b[key] is not None and (key in SECRET_KEYS or _only_secrets(b[key], secrets)):
                continue  # a null or empty field filled with the secrets (KubeVirt's imagePullSecret: '')
            problem = _diff(a[key], b[key], f"{path}.{key}", target, secrets, seen, in_secrets or key in SECRET_KEYS)
            if problem:
                return problem
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(b) != len(a) and not (in_secrets and len(b) > len(a) and _only_secrets(b[len(a):], secrets)):
            return f"{path}: {len(a)} items became {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            problem = _diff(x, y, f"{path}[{i}]", target, secrets, seen, in_secrets)
            if problem:
                return problem
        return None
    if isinstance(b, str) and not isinstance(a, (dict, list)) and a != b and registry and registry.lower() in b.lower():
        return None  # an image rewritten (a plain "true" or "2" under an image key is read as a name too)
    if folder and isinstance(a, str) and isinstance(b, str) and b == f"{folder}/{a}":
        return None  # a split reference's repository ({registry, repository}: the registry part is the mirror's)
    if isinstance(a, str) and isinstance(b, str) and "imagePullSecrets" in b and all(s in b for s in secrets):
        return None  # an embedded manifest (a ConfigMap's pod template) given the pull secrets
    if a != b or type(a) is not type(b):
        return f"{path}: {a!r} became {b!r}"
    return None


def _only_secrets(value: Any, secrets: tuple[str, ...]) -> bool:
    """Nothing but pull secrets we add (``[{name: s}]``, ``{pod: {imagePullSecrets: ...}}``, and the
    parents a rule creates for them: Tekton's ``taskRunTemplate.podTemplate``, Istio's ``values.global``)."""
    if isinstance(value, dict):
        if set(value) == {"name"}:
            return value["name"] in secrets
        return bool(value) and all(_only_secrets(v, secrets) for v in value.values())
    if isinstance(value, list):
        return all(_only_secrets(v, secrets) or v in secrets for v in value)
    return False


def fuzz(streams: Sequence[Path], iterations: int, seed: int, save: bool = True,
         log: Callable[[str], None] | None = print, io_share: float = 0.1) -> tuple[collections.Counter[str], list[Path]]:
    """Run ``iterations`` mutations; return the counts (exit codes, failure kinds) and saved inputs.
    ``io_share`` of the successful runs run once more with a full or closed stdout or a closed stderr."""
    rnd = random.Random(seed)
    io_rnd = random.Random(seed + 1_000_003)  # its own sequence: the mutations of a seed do not depend on it
    sources = [(p, p.read_bytes()) for p in streams]
    counts: collections.Counter[str] = collections.Counter()
    saved: list[Path] = []
    for i in range(iterations):
        path, original = rnd.choice(sources)
        data, names = mutate(rnd, original)
        args = rnd.choice(ARG_SETS)
        outcome = run_inprocess(args, data)
        counts[f"exit {outcome.code}"] += 1
        failure = check(args, data, outcome)
        if failure is None and outcome.code == 0 and io_rnd.random() < io_share:
            streams = io_rnd.choice(IO_KINDS)
            counts[f"io {streams}"] += 1
            names = [*names, streams]
            failure = check_streams(args, data, outcome, streams)
        if failure is None:
            continue
        counts[f"FAIL:{failure}"] += 1
        if save:
            SAVE_DIR.mkdir(parents=True, exist_ok=True)
            stem = SAVE_DIR / f"seed{seed}-{i:06d}-{failure}"
            stem.with_suffix(".yaml").write_bytes(data)
            stem.with_suffix(".txt").write_text(
                f"source: {path}\nmutations: {' '.join(names)}\nargs: {' '.join(args)}\nexit: {outcome.code}\n"
                f"stderr:\n{outcome.stderr}\n")
            saved.append(stem.with_suffix(".yaml"))
        if log:
            log(f"[{i}] {failure}: {path.name} {names} {args}: {outcome.stderr.strip()[:200]}")
    return counts, saved


def default_streams(corpus: bool) -> list[Path]:
    streams = sorted([*FIXTURES.glob("*.yaml"), *FIXTURES.glob("operators/*.yaml"), *FIXTURES.glob("hostile/*.yaml")])
    if corpus and CORPUS.is_dir():
        streams += sorted(p for p in [*CORPUS.glob("charts/*.yaml"), *CORPUS.glob("crs/*.yaml")] if p.stat().st_size < 1_500_000)
    return streams


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", action="store_true", help="also mutate ../shared/corpus streams under 1.5 MB")
    parser.add_argument("--memory-mb", type=int, default=2048, help="address-space limit for this process")
    parser.add_argument("--io-share", type=float, default=0.1,
                        help="share of successful runs repeated with a full or closed stdout or a closed stderr")
    options = parser.parse_args(argv)
    limit = options.memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    streams = default_streams(options.corpus)
    counts, saved = fuzz(streams, options.iterations, options.seed, io_share=options.io_share)
    print(f"{options.iterations} mutations of {len(streams)} streams, seed {options.seed}")
    for key in sorted(counts):
        print(f"  {key}: {counts[key]}")
    if saved:
        print(f"failing inputs saved under {SAVE_DIR} ({len(saved)})")
    return 1 if any(k.startswith("FAIL:") for k in counts) else 0


if __name__ == "__main__":
    sys.exit(main())
