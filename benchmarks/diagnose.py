#!/usr/bin/env python3
"""Where post-render spends time and memory on one stream: phases, GC, parser variants.

    .venv/bin/python benchmarks/diagnose.py STREAM            # phases + parser experiments
    .venv/bin/python benchmarks/diagnose.py STREAM --cprofile # plus the top functions

In-process and untimed by any test: a diagnosis aid for the lead, not a benchmark.
Every experiment only reads the core modules; none changes them.
"""
from __future__ import annotations

import argparse
import gc
import io
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set of this process in MiB, from /proc."""
    status = Path("/proc/self/status").read_text()
    now = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    return now / 1024, peak / 1024


class GcClock:
    """Counts collections and the time spent in them (gc.callbacks)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.by_generation = [0, 0, 0]
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start
            self.by_generation[info["generation"]] += 1

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


def timed(label: str, rows: list[dict[str, Any]], func: Callable[[], Any]) -> Any:
    with GcClock() as clock:
        start = time.perf_counter()
        value = func()
        seconds = time.perf_counter() - start
    now, peak = rss_mb()
    rows.append({"phase": label, "s": seconds, "gc_s": clock.seconds, "gc": tuple(clock.by_generation), "rss": now, "peak": peak})
    return value


def phases(data: bytes) -> list[dict[str, Any]]:
    """The post-render pipeline step by step, as commands/postrender.py and pipeline.py run it."""
    rows: list[dict[str, Any]] = []
    timed("import postrender (+yaml, docker_image)", rows, _imports)
    from postrender.documents import decode
    from postrender.pipeline import _image_edits, collect
    from postrender.plan import make_plan
    from postrender.pullsecrets import secret_edits
    from postrender.rules import load_rules
    from postrender.settings import Settings
    from postrender import splice

    settings = Settings(registry="registry.intern", folder="civitas", pull_secrets=("regcred",))
    rules = timed("load_rules (11 files, jsonpath-ng)", rows, lambda: load_rules(settings.rules))
    stream = timed("decode (bytes -> str)", rows, lambda: decode(data))
    text = stream.text
    raw = getattr(stream, "data", None)  # newer core: libyaml reads the bytes
    findings = timed("collect = documents() + find()", rows, lambda: collect(text, rules, raw) if raw is not None else collect(text, rules))
    plan = timed("make_plan", rows, lambda: make_plan(findings.sites, settings, "registry.intern"))
    edits = timed("edits (_image_edits + secret_edits)", rows,
                  lambda: _image_edits(text, plan) + secret_edits(text, findings.secrets, settings.pull_secrets, []))
    if hasattr(splice, "pieces"):  # newer core: written piece by piece
        sink = open(os.devnull, "wb")  # noqa: SIM115 (discard: RSS must not count the output)
        ordered = sorted(set(edits), key=lambda e: (e.start, e.end))  # the core sorts before pieces()
        timed("output (pieces, encoded one by one)", rows, lambda: [sink.write(p.encode("utf-8")) for p in splice.pieces(text, ordered)])
    else:
        output = timed("apply (splice, join)", rows, lambda: splice.apply(text, edits))
        timed("encode (str -> bytes)", rows, lambda: output.encode("utf-8"))
    rows.append({"phase": f"({len(findings.sites)} sites, {len(findings.secrets)} pod specs, {len(edits)} edits)"})
    return rows


def _imports() -> None:
    import postrender.commands.postrender  # noqa: F401
    from postrender.reference import parse_reference

    parse_reference("nginx:1.27")  # docker-image-py is imported on first use


# -- parser experiments ------------------------------------------------------------------------
class NoResolveLoader(yaml.CBaseLoader):  # type: ignore[misc]
    """CBaseLoader without the per-node Python resolver calls (same tags as BaseResolver gives)."""

    _TAGS = {yaml.ScalarNode: "tag:yaml.org,2002:str", yaml.SequenceNode: "tag:yaml.org,2002:seq",
             yaml.MappingNode: "tag:yaml.org,2002:map"}

    def resolve(self, kind: type, value: object, implicit: object) -> str:
        return self._TAGS[kind]

    def descend_resolver(self, parent: object, index: object) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


def compose_each(text: str, loader: type, toggle_gc: bool) -> Iterator[Any]:
    parser = loader(text)
    try:
        while True:
            if toggle_gc:
                gc.disable()
            try:
                if not parser.check_node():
                    return
                node = parser.get_node()
            finally:
                if toggle_gc:
                    gc.enable()
            yield node
    finally:
        parser.dispose()


def parser_experiments(text: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def consume(nodes: Iterator[Any]) -> None:
        for _ in nodes:
            pass

    timed("floor: compose_all(CSafeLoader)", rows, lambda: consume(yaml.compose_all(text, Loader=yaml.CSafeLoader)))
    timed("libyaml alone: CParser.raw_parse()", rows, lambda: yaml._yaml.CParser(text).raw_parse())
    timed("CBaseLoader, GC paused per document (documents())", rows, lambda: consume(compose_each(text, yaml.CBaseLoader, True)))
    timed("CBaseLoader, resolver calls stubbed", rows, lambda: consume(compose_each(text, NoResolveLoader, True)))
    enabled = gc.isenabled()
    gc.disable()
    try:
        timed("CBaseLoader, resolver stubbed, GC off for the run", rows, lambda: consume(compose_each(text, NoResolveLoader, False)))
    finally:
        if enabled:
            gc.enable()
    return rows


def prefilter_experiment(text: str) -> list[str]:
    """How much of the stream a text-level pre-check of each document would let us skip."""
    from postrender.rules import load_rules

    rules = load_rules()
    sizes = {"skippable (pathless kind, or CRD without an image-like default)": 0, "must compose": 0}
    counts = dict.fromkeys(sizes, 0)
    start = time.perf_counter()
    for _, doc in _split(text):
        key = "must compose" if not _skippable(doc, rules) else next(iter(sizes))
        sizes[key] += len(doc)
        counts[key] += 1
    seconds = time.perf_counter() - start
    total = sum(sizes.values())
    return [f"{key}: {counts[key]} documents, {sizes[key] / 1e6:.2f} MB ({100 * sizes[key] / total:.0f}%)" for key in sizes] + \
        [f"split + pre-check time: {seconds:.3f} s"]


def _pathless(rule: Any) -> bool:
    return not (rule.pod_specs or rule.containers or rule.images or rule.named_values or rule.pull_secrets
                or rule.schema_defaults or rule.items)


def _at_line_start(doc: str, needle: str) -> bool:
    """``needle`` after nothing but spaces on its line (str.find: regexes with ^ are slow on MBs)."""
    position = doc.find(needle)
    while position != -1:
        if doc[doc.rfind("\n", 0, position) + 1:position].strip(" ") == "":
            return True
        position = doc.find(needle, position + len(needle))
    return False


def _flow_default(doc: str) -> bool:
    """A quoted or flow-style ``default`` key (JSON CRDs): the line scan cannot judge those."""
    for needle in ('"default"', "'default'"):
        position = doc.find(needle)
        while position != -1:
            if doc[position + 9:position + 30].lstrip(" \t").startswith(":"):
                return True
            position = doc.find(needle, position + 9)
    return any(needle in doc for needle in ("{default:", "{ default:", ",default:", ", default:"))


def _image_default(doc: str) -> bool:
    """Conservative for block style: a ``default:`` whose parent key (the nearest line above with
    less indentation) is image-like; any quoted or flow-style ``default`` key counts as a hit."""
    from postrender.heuristics import is_candidate_key

    if _flow_default(doc):
        return True
    position = doc.find("default:")
    while position != -1:
        line_start = doc.rfind("\n", 0, position) + 1
        prefix = doc[line_start:position]
        if prefix.strip(" ") == "":  # a key at the start of its line
            indent = len(prefix)
            cursor = line_start
            while cursor > 0:
                previous = doc.rfind("\n", 0, cursor - 1) + 1
                line = doc[previous:cursor - 1]
                cursor = previous
                stripped = line.lstrip(" ")
                if stripped.strip() and not stripped.startswith("#") and len(line) - len(stripped) < indent:
                    if is_candidate_key(stripped.split(":", 1)[0].strip("\"'- \r")):
                        return True
                    break
        position = doc.find("default:", position + 8)
    return False


# -- variants in fresh processes (the machine is noisy: alternate, several rounds) --------------
def _split(text: str) -> list[tuple[int, str]]:
    """Documents by their "---" lines, with str.find (a MULTILINE regex is 10x slower here)."""
    starts = [0]
    position = text.find("\n---")
    while position != -1:
        after = text[position + 4:position + 5]
        if after in ("", " ", "\t", "\n", "\r"):
            starts.append(position + 1)
        position = text.find("\n---", position + 4)
    return [(b, text[b:e]) for b, e in zip(starts, [*starts[1:], len(text)])]


def _top_level(doc: str, key: str) -> str | None:
    """The plain value of the last column-0 ``key:`` line, or None (then compose the document)."""
    needle = "\n" + key + ":"
    position = doc.rfind(needle)
    if position == -1:
        return None
    end = doc.find("\n", position + 1)
    value = doc[position + len(needle):end if end != -1 else len(doc)].split(" #", 1)[0].strip().strip("\"'")
    return value if value and all(c.isalnum() or c in "./-" for c in value) else None


# Anchors, aliases and complex keys make text structure differ from the node graph: compose then.
_GRAPH_MARKS = (": &", "- &", "[&", "{&")  # an alias needs an anchor: look for anchors only


def _skippable(doc: str, rules: Any) -> bool:
    """The text pre-check: a kind whose rules have no paths, or a CRD with no image-like default."""
    kind, version = _top_level(doc, "kind"), _top_level(doc, "apiVersion")
    if kind is None or version is None or ("&" in doc and any(mark in doc for mark in _GRAPH_MARKS)) or _at_line_start(doc, "? "):
        return False
    matched = rules.for_kind(version, kind)
    if not matched:
        return False  # unruled kinds are searched for candidates
    if all(_pathless(r) for r in matched):
        return True
    only_schema = all(_pathless(r) or (r.schema_defaults and not (r.pod_specs or r.containers or r.images or r.named_values
                      or r.pull_secrets or r.items)) for r in matched)
    return bool(only_schema) and not _image_default(doc)


def variant(name: str, text: str) -> dict[str, Any]:
    """Run one variant over ``text``; seconds exclude interpreter start-up and imports."""
    from postrender.documents import documents
    from postrender.finder import Findings, context_of, find
    from postrender.pipeline import collect
    from postrender.rules import load_rules

    rules = load_rules()
    parse_reference_warm()
    findings = Findings()

    def consume(nodes: Iterator[Any]) -> None:
        for _ in nodes:
            pass

    def compose_rest(validate: bool) -> None:
        enabled = gc.isenabled()
        gc.disable()  # one-shot process: no collections at all
        try:
            if validate:
                yaml._yaml.CParser(text).raw_parse()  # syntax errors of skipped documents still fail the run
            for index, (_, doc) in enumerate(_split(text)):
                if _skippable(doc, rules):
                    continue
                for root in compose_each(doc, NoResolveLoader, False):
                    if isinstance(root, yaml.MappingNode):
                        find(root, context_of(root, index, None), rules, findings)
        finally:
            if enabled:
                gc.enable()

    def stubbed_full() -> None:
        enabled = gc.isenabled()
        gc.disable()
        try:
            for index, root in enumerate(compose_each(text, NoResolveLoader, False)):
                if isinstance(root, yaml.MappingNode):
                    find(root, context_of(root, index, None), rules, findings)
        finally:
            if enabled:
                gc.enable()

    runs: dict[str, Callable[[], Any]] = {
        "floor": lambda: consume(yaml.compose_all(text, Loader=yaml.CSafeLoader)),
        "raw_parse": lambda: yaml._yaml.CParser(text).raw_parse(),
        "documents": lambda: consume(documents(text)),
        "collect": lambda: collect(text, rules),
        "stubbed+gc-off collect": stubbed_full,
        "prefilter collect": lambda: compose_rest(False),
        "prefilter+raw_parse collect": lambda: compose_rest(True),
    }
    with GcClock() as clock:
        start = time.perf_counter()
        runs[name]()
        seconds = time.perf_counter() - start
    return {"s": seconds, "gc_s": clock.seconds, "peak_mb": rss_mb()[1], "sites": len(findings.sites)}


VARIANTS = ("floor", "raw_parse", "documents", "collect", "stubbed+gc-off collect", "prefilter collect", "prefilter+raw_parse collect")


def parse_reference_warm() -> None:
    from postrender.reference import parse_reference

    parse_reference("nginx:1.27")


def compare_variants(stream: Path, rounds: int) -> None:
    import json
    import statistics
    import subprocess

    results: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    for round_index in range(rounds):
        order = VARIANTS[round_index % len(VARIANTS):] + VARIANTS[:round_index % len(VARIANTS)]
        for name in order:
            out = subprocess.run([sys.executable, __file__, str(stream), "--variant", name], capture_output=True, text=True, check=True)
            results[name].append(json.loads(out.stdout))
    base = statistics.median(r["s"] for r in results["floor"])
    print(f"\nvariants, fresh process each, {rounds} rounds (seconds exclude start-up; vs floor in-process):")
    print(f"{'variant':30s} {'median s':>9s} {'min-max':>13s} {'GC s':>6s} {'peak MiB':>9s} {'vs floor':>9s} {'sites':>6s}")
    for name, rows in results.items():
        times = [r["s"] for r in rows]
        median = statistics.median(times)
        print(f"{name:30s} {median:9.3f} {min(times):6.3f}-{max(times):6.3f} {statistics.median(r['gc_s'] for r in rows):6.3f} "
              f"{max(r['peak_mb'] for r in rows):9.0f} {median / base:8.2f}x {rows[0]['sites']:6d}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stream", type=Path)
    parser.add_argument("--cprofile", action="store_true", help="also print the top functions by own time")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the variant comparison (0: skip it)")
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)  # internal: one variant, JSON out
    args = parser.parse_args(argv)
    if args.variant:
        import json

        print(json.dumps(variant(args.variant, args.stream.read_text(encoding="utf-8"))))
        return 0
    data = args.stream.read_bytes()
    print(f"{args.stream}: {len(data) / 1e6:.1f} MB; start RSS {rss_mb()[0]:.0f} MiB\n")
    print(f"{'phase':58s} {'s':>7s} {'GC s':>6s} {'GC gen0/1/2':>13s} {'RSS':>6s} {'peak':>6s}")
    for row in phases(data):
        if "s" not in row:
            print(row["phase"])
            continue
        print(f"{row['phase']:58s} {row['s']:7.3f} {row['gc_s']:6.3f} {'/'.join(map(str, row['gc'])):>13s} {row['rss']:6.0f} {row['peak']:6.0f}")
    text = data.decode("utf-8")
    gc.collect()
    print("\nparser variants (in-process, the same text; RSS columns are of this process):")
    for row in parser_experiments(text):
        print(f"{row['phase']:58s} {row['s']:7.3f} {row['gc_s']:6.3f} {'/'.join(map(str, row['gc'])):>13s}")
    print("\ntext pre-check of each document (what could skip composing):")
    for line in prefilter_experiment(text):
        print("  " + line)
    del text
    if args.rounds:
        compare_variants(args.stream, args.rounds)
    if args.cprofile:
        import cProfile
        import pstats

        from postrender.documents import decode
        from postrender.pipeline import post_render
        from postrender.settings import Settings

        settings = Settings(registry="registry.intern", folder="civitas", pull_secrets=("regcred",))
        profile = cProfile.Profile()
        profile.runcall(post_render, decode(data), settings)
        buffer = io.StringIO()
        pstats.Stats(profile, stream=buffer).sort_stats("tottime").print_stats(20)
        print("\n" + "\n".join(line for line in buffer.getvalue().splitlines() if line.strip())[:6000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
