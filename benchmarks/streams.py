"""Benchmark input: streams of a chosen size built from the real corpus (or fixtures/).

A stream of N MB keeps the corpus's mix by bytes (CRDs vs workloads): whole
copies of the corpus (the 10.9 MB corpus is "10 MB", five copies are "50 MB"),
and a byte-proportional sample of its documents below one copy ("1 MB").
Copy k > 0 renames every document's ``metadata.name`` (``<name>-c<k>``), because
``kustomize`` refuses two resources with the same id; CRDs are renamed the same
way, so the mix stays the same and kustomize still accepts the stream.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MB = 1_000_000

# A document starts at a "---" line (possibly with content after it, e.g. "--- {json}").
_SEPARATOR = re.compile(r"^---(?=[ \t]|\r?$)", re.MULTILINE)
_METADATA = re.compile(r"^metadata:[ \t]*\r?$", re.MULTILINE)
_INDENT = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class Document:
    text: str  # including its "---" line and "# Source:" comment
    source: str  # the corpus file it came from


@dataclass(frozen=True)
class BuiltStream:
    path: Path
    size: int  # bytes
    documents: int
    copies: float  # corpus copies it holds (by bytes)
    unrenamed: int  # documents of a copy kept with their original name (it could not be changed)


def corpus_files(corpus: Path | None, fixtures: Path) -> tuple[list[Path], str]:
    """The rendered chart streams to build from: the corpus when present, else the fixtures."""
    if corpus is not None and corpus.is_dir():
        files = sorted(p for p in corpus.glob("*.yaml") if not p.name.endswith((".docs.yaml", ".images.yaml")))
        if files:
            return files, str(corpus)
    return sorted(fixtures.glob("*.yaml")), str(fixtures)


def split_documents(text: str, source: str) -> list[Document]:
    """Split on "---" lines; a leading part before the first separator is a document too."""
    starts = [m.start() for m in _SEPARATOR.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    out = []
    for begin, end in zip(starts, [*starts[1:], len(text)]):
        chunk = text[begin:end]
        if chunk.strip():
            if not chunk.endswith("\n"):
                chunk += "\n"
            if not chunk.startswith("---"):
                chunk = "---\n" + chunk
            out.append(Document(chunk, source))
    return out


def has_content(doc: Document) -> bool:
    return any(line.strip() and not line.lstrip().startswith(("#", "---")) for line in doc.text.splitlines())


def rename(doc: Document, suffix: str) -> str | None:
    """``doc`` with ``-<suffix>`` appended to its top-level metadata.name; None when not found.

    A text edit on the ``name:`` line at the first indentation below ``metadata:``
    (block style, as Helm renders): quotes are kept, the rest stays byte for byte.
    """
    if not has_content(doc):
        return doc.text  # comment-only: nothing to rename
    meta = _METADATA.search(doc.text)
    if meta is None:
        return None
    position = meta.end() + 1
    indent: str | None = None
    while position < len(doc.text):
        end = doc.text.find("\n", position)
        end = len(doc.text) if end == -1 else end
        line = doc.text[position:end].rstrip("\r")
        if line.strip() and not line.lstrip().startswith("#"):
            lead = _INDENT.match(line)
            if lead is None:
                return None  # left the metadata block without a name
            if indent is None:
                indent = lead.group(0)
            if line.startswith(indent + "name:") and len(lead.group(0)) == len(indent):
                value_start = position + len(indent) + len("name:")
                value = line[len(indent) + len("name:"):]
                stripped = value.split(" #")[0].rstrip()
                core = stripped.strip()
                if not core or core[0] in "&*!|>{[":
                    return None
                value_end = value_start + len(value) - len(value.lstrip()) + len(core)
                insert = value_end - 1 if core[0] in "\"'" and core[-1] == core[0] and len(core) > 1 else value_end
                return doc.text[:insert] + "-" + suffix + doc.text[insert:]
        position = end + 1
    return None


def build_stream(documents: list[Document], corpus_size: int, target: int, path: Path) -> BuiltStream:
    """Write a stream of about ``target`` bytes to ``path``: whole copies, then a byte-proportional sample."""
    pieces: list[str] = []
    size = count = unrenamed = 0
    copy = 0
    # Whole copies when they land within 15% of the target (10 MB -> 1 copy, 50 MB -> 5 copies):
    # the mix stays exact and the 50/10 size ratio is exactly 5.
    whole = round(target / corpus_size)
    if whole >= 1 and abs(whole * corpus_size - target) <= 0.15 * target:
        target = whole * corpus_size
    while size < target * 0.97:  # "about" N MB: documents are up to 1.4 MB each
        remaining = target - size
        fraction = min(1.0, remaining / corpus_size)
        seen = taken = 0
        for doc in documents:
            seen += len(doc.text)
            # Proportional sampling: take a document when that brings the taken bytes closer to
            # the quota (a 1.4 MB CRD is not taken for a 1 MB stream, smaller ones catch up).
            if fraction < 1.0 and taken + len(doc.text) / 2 > fraction * seen:
                continue
            text = doc.text if copy == 0 else rename(doc, f"c{copy}")
            if text is None:  # kept as is: every copy holds every document (kustomize may refuse the duplicate)
                unrenamed += 1
                text = doc.text
            pieces.append(text)
            taken += len(text)
            count += 1
        size += taken
        copy += 1
        if taken == 0:
            break
    data = "".join(pieces)
    path.write_text(data, encoding="utf-8")
    encoded = len(data.encode("utf-8"))
    return BuiltStream(path, encoded, count, round(encoded / corpus_size, 3), unrenamed)


def load_corpus(files: list[Path]) -> tuple[list[Document], int]:
    documents: list[Document] = []
    for file in files:
        documents += split_documents(file.read_text(encoding="utf-8"), file.name)
    return documents, sum(len(d.text) for d in documents)


def one_document_stream(documents: list[Document], path: Path) -> Path:
    """A small stream with one workload (the start-up measurement): the first Deployment found."""
    for doc in documents:
        if re.search(r"^kind:\s*Deployment\s*$", doc.text, re.MULTILINE):
            path.write_text(doc.text, encoding="utf-8")
            return path
    path.write_text(next(d.text for d in documents if has_content(d)), encoding="utf-8")
    return path


def worst_cases(directory: Path, scale: float = 1.0) -> list[tuple[str, Path]]:
    """Generated inputs that stress memory and time (issue 11 item 8), ``scale`` x their full size:
    40 MB of empty documents, a 5 MB ConfigMap of 100k keys, an 8 MB ``kind: List`` of pods."""
    out = []
    empty = directory / "empty-documents.yaml"
    empty.write_bytes(b"---\n" * int(10_000_000 * scale))
    out.append(("40 MB of '---' lines", empty))
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: big", "data:"]
    lines += [f'  key{i}: "value number {i} with some text"' for i in range(int(120_000 * scale))]
    config_map = directory / "configmap-100k-keys.yaml"
    config_map.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out.append(("5 MB ConfigMap, 120k keys", config_map))
    pod = ("- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: p{0}\n  spec:\n    containers:\n    - name: c\n"
           "      image: nginx:1.{0}\n      env:\n      - name: A\n        value: b\n")
    listing = directory / "list-of-pods.yaml"
    listing.write_text("apiVersion: v1\nkind: List\nitems:\n" + "".join(pod.format(i) for i in range(int(48_000 * scale))),
                       encoding="utf-8")
    out.append(("8 MB kind: List of pods", listing))
    return out
