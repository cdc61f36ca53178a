#!/usr/bin/env python3
"""A measurement prototype of the recommended post-render fast path (NOT the product).

It reuses the core's finder, plan, splice and pull-secret functions unchanged and
changes only what docs/performance.md recommends for the core:

1. the collector is off for the whole (one-shot) run, not paused per document;
2. a loader whose per-node resolver calls are stubs (the base loader's tags);
3. documents are split on their ``---`` lines and each is composed alone; a text
   pre-check skips documents that cannot hold an image (kinds whose rules have no
   paths; CRDs without a ``default:`` under an image-like key), and one libyaml
   ``raw_parse`` of the whole stream (C only, no Python objects) still rejects
   invalid YAML anywhere (``--no-validate`` drops it);
4. edits are computed per document, on that document's own text; documents without
   edits are written as the input's own bytes (a memoryview slice, no copy);
5. bytes first: the stream is never decoded as a whole (a str of a stream with one
   ``’`` in it takes 2 bytes per character: 104 MiB for 52 MiB of input).

``--mode cheap`` instead runs the real CLI with only two small patches applied (the
schema-default hint regex without its leading ``\b``, so ``re`` can search for the
literal; and no-op ``descend_resolver``/``ascend_resolver`` on the loader).

Run it like the tool: ``python benchmarks/prototype.py --registry R --folder F --pull-secret S < in > out``.
``benchmarks/run.py --extra prototype="python benchmarks/prototype.py"`` measures it side by side;
its output must be byte-identical to the tool's (run.py checks that).
"""
from __future__ import annotations

import gc
import sys

gc.disable()  # (1) a one-shot process: node trees hold no cycles worth collecting

import argparse  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))


def cheap() -> int:
    """The real CLI with the two one-line fixes patched in (what they alone are worth)."""
    import re

    import postrender.documents as documents
    import postrender.finder as finder
    from postrender.cli import main as cli_main

    gc.enable()  # the core manages the collector itself
    hint = getattr(finder, "_DEFAULT_HINT", None)
    if hint is not None and hint.pattern.startswith("\\b"):
        finder._DEFAULT_HINT = re.compile(hint.pattern[2:])  # type: ignore[attr-defined]
    original = getattr(documents, "_loader", None)
    if original is not None:
        def _loader(source: object) -> object:
            loader = original(source)
            loader.descend_resolver = lambda parent, index: None
            loader.ascend_resolver = lambda: None
            return loader
        documents._loader = _loader  # type: ignore[attr-defined]
    return cli_main(sys.argv[3:])


def _split_bytes(data: bytes, start: int) -> list[tuple[int, int]]:
    """Byte ranges of the documents: each starts at a "---" line (or the stream's start)."""
    starts = [start]
    position = data.find(b"\n---", start)
    while position != -1:
        if data[position + 4:position + 5] in (b"", b" ", b"\t", b"\n", b"\r"):
            starts.append(position + 1)
        position = data.find(b"\n---", position + 4)
    return list(zip(starts, [*starts[1:], len(data)]))


def main(argv: list[str] | None = None) -> int:
    import yaml

    from diagnose import NoResolveLoader, _skippable
    from postrender.documents import _template, decode
    from postrender.finder import Findings, context_of, find
    from postrender.plan import make_plan
    from postrender.pullsecrets import secret_edits
    from postrender.rules import load_rules
    from postrender.settings import Settings
    from postrender.splice import Edit, scalar_edits

    parser = argparse.ArgumentParser()
    parser.add_argument("--registry", required=True)
    parser.add_argument("--folder")
    parser.add_argument("--pull-secret", action="append", default=[])
    parser.add_argument("--no-validate", action="store_true")
    args = parser.parse_args(argv)
    settings = Settings(registry=args.registry, folder=args.folder, pull_secrets=tuple(args.pull_secret))
    rules = load_rules()

    data = sys.stdin.buffer.read()
    if not args.no_validate:
        try:
            yaml._yaml.CParser(data).raw_parse()  # (3) C only; bytes in, so no UTF-8 copy
        except yaml.YAMLError as exc:
            print(f"civitas-postrender: error: invalid YAML: {exc}", file=sys.stderr)
            return 1
    bom = data.startswith(b"\xef\xbb\xbf")

    # (5) bytes first: the whole stream never exists as one str (24 characters such as ’ or –
    # in CRD descriptions make a str 2 bytes per character); each document is decoded alone.
    findings = Findings()
    chunks: dict[int, str] = {}  # index -> decoded text, kept only for documents that get edits
    spans: list[tuple[int, int, int | None]] = []  # (start, end, document index or None)
    index = 0
    for start, end in _split_bytes(data, 3 if bom else 0):
        chunk = decode(data[start:end]).text
        counts = chunk.startswith("---") or any(
            line.strip() and not line.lstrip().startswith("#") for line in chunk.splitlines())
        if not counts:
            spans.append((start, end, None))
            continue  # comments before the first "---" are no document
        if not _skippable(chunk, rules):
            before = len(findings.sites), len(findings.secrets)
            loader = NoResolveLoader(chunk)
            try:
                while loader.check_node():
                    root = loader.get_node()
                    if isinstance(root, yaml.MappingNode):
                        ctx = context_of(root, index, _template(chunk, 0, root.start_mark.index))
                        find(root, ctx, rules, findings)
            finally:
                loader.dispose()
            if (len(findings.sites), len(findings.secrets)) != before:
                chunks[index] = chunk
        spans.append((start, end, index))
        index += 1

    plan = make_plan(findings.sites, settings, args.registry)
    edits: dict[int, list[Edit]] = {}
    by_node: dict[int, tuple[int, object, list[tuple[int, str, str]]]] = {}
    for site, target in plan.rewrites:
        entry = by_node.setdefault(id(site.node), (site.doc.index, site.node, []))
        entry[2].append((site.offset, site.text, target))
    for doc_index, node, replacements in by_node.values():
        edits.setdefault(doc_index, []).extend(scalar_edits(chunks[doc_index], node, replacements))  # type: ignore[arg-type]
    secrets_by_doc: dict[int, list[object]] = {}
    for secret_site in findings.secrets:
        secrets_by_doc.setdefault(secret_site.doc.index, []).append(secret_site)
    warnings: list[str] = []
    for doc_index, sites in secrets_by_doc.items():
        edits.setdefault(doc_index, []).extend(secret_edits(chunks[doc_index], sites, settings.pull_secrets, warnings))  # type: ignore[arg-type]
    for warning in findings.warnings + findings.not_references + warnings:
        print(f"civitas-postrender: warning: {warning}", file=sys.stderr)

    out = sys.stdout.buffer
    view = memoryview(data)
    if bom:
        out.write(view[:3])
    for start, end, doc_index in spans:  # (4) unchanged documents go out as the input's own bytes
        doc_edits = edits.get(doc_index) if doc_index is not None else None
        if not doc_edits:
            out.write(view[start:end])
            continue
        text, position = chunks[doc_index], 0  # type: ignore[index]
        for edit in sorted(set(doc_edits), key=lambda e: (e.start, e.end)):  # the core's Edit may not be orderable
            out.write(text[position:edit.start].encode("utf-8"))
            out.write(edit.text.encode("utf-8"))
            position = edit.end
        out.write(text[position:].encode("utf-8"))
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(cheap() if sys.argv[1:3] == ["--mode", "cheap"] else main())
