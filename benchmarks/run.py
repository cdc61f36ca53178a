#!/usr/bin/env python3
"""Benchmark civitas-postrender against three libyaml floors and `kubectl kustomize` (issues 6, 15).

Not a timed test: it measures, prints medians, min-max, peak RSS and ratios, checks
the issue's targets, and writes everything as JSON to benchmarks/results/.

    .venv/bin/python benchmarks/run.py --quick      # 1 and 10 MB, 3 rounds: a few minutes
    .venv/bin/python benchmarks/run.py              # 1, 10 and 50 MB, 5 rounds

Every measured command runs as its own process, one at a time, in an order that
rotates each round (the machine is shared and noisy: compare side by side).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import Run, Series, run_once, start_launcher, stop_launcher  # noqa: E402
from streams import MB, BuiltStream, build_stream, corpus_files, load_corpus, one_document_stream, worst_cases  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REGISTRY, FOLDER, SECRET = "registry.intern", "civitas", "regcred"
SETTINGS = ["--registry", REGISTRY, "--folder", FOLDER, "--pull-secret", SECRET]
CHECK_SETTINGS = ["--registry", REGISTRY, "--folder", FOLDER, "--pull-secret", SECRET, "--output", "json"]

# The floors: one process each, reading the stream's bytes as the tool does, nothing kept.
# compose: libyaml composes node trees (the base loader, collector off: as the tool composes);
# parse: libyaml's events as Python objects; raw_parse: libyaml's C event parser alone, no
# Python object per event (what reading the stream costs at the very least).
_READ = "import gc, sys, yaml, yaml._yaml\ndata = sys.stdin.buffer.read()\n"
FLOORS = {
    "compose": _READ + "gc.disable()\nfor _ in yaml.compose_all(data, Loader=yaml.CBaseLoader):\n    pass\n",
    "parse": _READ + "for _ in yaml.parse(data, Loader=yaml.CBaseLoader):\n    pass\n",
    "raw_parse": _READ + "parser = yaml._yaml.CParser(data)\nparser.raw_parse()\nparser.dispose()\n",
}
BASE = "raw_parse"  # the floor the targets are stated against
TOLERANCE = 1.1  # "no slower than": the same work measured twice differs by this much on a shared machine

TARGETS = {
    "raw10": "10 MB: post-render <= 2.0x the raw_parse floor",
    "raw50": "50 MB: post-render <= 1.8x the raw_parse floor",
    "kustomize": "10 MB: post-render >= 25x faster than kustomize",
    "linear": "50 MB run <= 5.5x the 10 MB run",
    "rss": "peak RSS <= 2x input + 60 MB (every size)",
    "rss50": "50 MB: peak RSS <= input + 40 MB",
    "startup": "one-document stream <= 6x `python -c pass`",
    "imports": "post-render start-up imports none of the modules only other commands need",
    "images": f"images within {TOLERANCE}x of post-render",
    "check": f"check within {TOLERANCE}x of post-render",
}
# Modules post-render mode must not import (start-up time): other subcommands and what only they use.
NOT_AT_STARTUP = ("postrender.commands.check", "postrender.commands.images", "postrender.commands.values",
                  "postrender.commands.secret", "postrender.commands.helm_plugin", "postrender.commands.verify",
                  "postrender.commands.harbor", "postrender.values_overlay", "postrender.imagelist", "tomllib",
                  "tempfile", "urllib.request", "http.client")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start_launcher()
    tool = tool_command(args.tool)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVITAS_POSTRENDER_")}  # flags only
    kubectl = None if args.no_kustomize else shutil.which("kubectl")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="civitas-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    # As installed (pip compiles bytecode): with PYTHONDONTWRITEBYTECODE every start compiles every
    # module from source.  The warm-up runs fill a cache outside the source tree.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    files, origin = corpus_files(args.corpus, ROOT / "fixtures")
    documents, corpus_size = load_corpus(files)
    if args.image_dense:  # like the synthetic stream: every document holds images
        documents = [d for d in documents if re.search(r"^\s*(?:-\s+)?image:", d.text, re.MULTILINE)
                     and not re.search(r"^kind:\s*CustomResourceDefinition", d.text, re.MULTILINE)]
        corpus_size = sum(len(d.text) for d in documents)
        origin += " (image-dense: only documents with an image: field, no CRDs)"
    log(f"corpus: {origin} ({len(files)} files, {len(documents)} documents, {corpus_size / MB:.1f} MB); work dir {workdir}")

    small = one_document_stream(documents, workdir / "one-document.yaml")
    images_argv = probe_images(tool, small, env)
    result: dict[str, Any] = {
        "meta": machine_info(tool, kubectl), "corpus": origin, "rounds": args.rounds,
        "images_command": images_argv[1] if isinstance(images_argv, tuple) else None,
        "notes": [], "sizes": [], "startup": None, "importtime": None,
    }
    if not isinstance(images_argv, tuple):
        result["notes"].append(f"images row skipped: {images_argv}")
        log(f"note: images row skipped: {images_argv}")
    if kubectl is None:
        result["notes"].append("kustomize row skipped: " + ("--no-kustomize" if args.no_kustomize else "kubectl is not on PATH"))

    result["startup"] = measure_startup(tool, small, images_argv, env, args.startup_runs, args.extra)
    result["importtime"] = import_times(tool, small, env)
    streams: dict[float, Path] = {}
    for size in args.sizes:
        prepared = prepare_size(documents, corpus_size, size, workdir, kubectl is not None)
        rounds = args.rounds
        kustomize_rounds = args.kustomize_rounds or (rounds if size <= 10 else 1)
        result["sizes"].append(measure_size(tool, prepared, images_argv, kubectl, env, rounds, kustomize_rounds, args.extra))
        streams[size] = prepared["built"].path
    if args.worst_cases:
        result["worst_cases"] = measure_worst_cases(tool, workdir, env, args.worst_cases)
    if 10 in streams and 50 in streams:
        result["linearity"] = measure_linearity(tool, streams[10], streams[50], env, args.rounds, args.extra)
    if not args.keep_streams:
        for path in streams.values():
            path.unlink()  # up to 55 MB each

    stop_launcher()
    result["targets"] = check_targets(result)
    result["extra_targets"] = {name: check_targets(result, name) for name, _ in args.extra}
    print_report(result)
    write_results(result, Path(args.results))
    if not args.workdir and not args.keep_streams:
        shutil.rmtree(workdir, ignore_errors=True)
    missed = [t for t in result["targets"] if t["met"] is False]
    return 1 if args.check and missed else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 and 10 MB, 3 rounds, 15 start-up runs")
    parser.add_argument("--sizes", help="stream sizes in MB, comma-separated (default 1,10,50)")
    parser.add_argument("--rounds", type=int, help="rounds per command and size (default 5, --quick 3)")
    parser.add_argument("--kustomize-rounds", type=int, help="rounds for kustomize (default: --rounds up to 10 MB, 1 above: it takes over a minute on 50 MB)")
    parser.add_argument("--startup-runs", type=int, help="runs of the one-document stream (default 21, --quick 15)")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "charts",
                        help="rendered chart streams to build from (default ../shared/corpus/charts; fixtures/ when absent)")
    parser.add_argument("--tool", help="command to benchmark (default: civitas-postrender next to this Python, else python -m postrender)")
    parser.add_argument("--no-kustomize", action="store_true", help="skip the kubectl kustomize row")
    parser.add_argument("--image-dense", action="store_true",
                        help="build the streams only from documents with an image: field (workloads, image-dense CRs)")
    parser.add_argument("--extra", action="append", default=[], metavar="NAME=COMMAND",
                        help="another post-renderer to measure side by side (settings flags are appended; its output "
                             "is compared byte for byte with post-render's), e.g. old='/path/to/old/venv/bin/civitas-postrender'")
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "results"), help="where the JSON goes")
    parser.add_argument("--workdir", help="where the streams are built (default: a temporary directory)")
    parser.add_argument("--keep-streams", action="store_true", help="keep the built streams")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--worst-cases", type=float, nargs="?", const=1.0, default=0.0, metavar="SCALE",
                        help="also run post-render (and check where named) once on generated worst cases (empty documents, "
                             "a 100k-key ConfigMap and Secret, Lists of pods in YAML, kubectl and JSON form, alias amplification, "
                             "a 200 MB stream; SCALE x their full size, default 1): time and peak RSS against 2x input + 60 MB")
    args = parser.parse_args(argv)
    args.sizes = [float(s) for s in (args.sizes or ("1,10" if args.quick else "1,10,50")).split(",")]
    args.sizes = [int(s) if s.is_integer() else s for s in args.sizes]
    args.rounds = args.rounds or (3 if args.quick else 5)
    args.startup_runs = max(15, args.startup_runs or (15 if args.quick else 21))
    args.extra = [(name, command.split()) for name, _, command in (e.partition("=") for e in args.extra)]
    return args


def tool_command(explicit: str | None) -> list[str]:
    if explicit:
        return explicit.split()
    script = Path(sys.executable).parent / "civitas-postrender"
    return [str(script)] if script.exists() else [sys.executable, "-m", "postrender"]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- the commands ---------------------------------------------------------------------------
def probe_images(tool: list[str], stream: Path, env: dict[str, str]) -> tuple[str, list[str]] | str:
    """The `images --format json` invocation that works, or why there is none (yet)."""
    help_run = subprocess.run([*tool, "images", "--help"], capture_output=True, env=env)
    if help_run.returncode != 0:
        return "the `images` subcommand is not available yet (`images --help` failed: " + \
            (help_run.stderr.decode(errors="replace").strip().splitlines() or ["?"])[-1] + ")"
    registry = ["--registry", REGISTRY, "--folder", FOLDER]
    variants = [
        ("images --format json <settings> -", [*tool, "images", "--format", "json", *registry, "-"]),
        ("<settings> images --format json -", [*tool, *registry, "images", "--format", "json", "-"]),
        ("images --format json -", [*tool, "images", "--format", "json", "-"]),
    ]
    problems = []
    for label, argv in variants:
        with open(stream, "rb") as handle:
            run = subprocess.run(argv, stdin=handle, capture_output=True, env=env)
        if run.returncode == 0:
            try:
                json.loads(run.stdout)
                return label, argv
            except ValueError:
                problems.append(f"{label}: output is not JSON")
        else:
            problems.append(f"{label}: exit {run.returncode}: {run.stderr.decode(errors='replace').strip()[-200:]}")
    return "no `images --format json` invocation worked: " + "; ".join(problems)


def commands(tool: list[str], images_argv: tuple[str, list[str]] | str, kubectl: str | None,
             kustomize_dir: Path | None, extra: Sequence[tuple[str, list[str]]] = ()) -> list[Series]:
    series = [
        Series("post-render", [*tool, *SETTINGS]),
        Series("images", images_argv[1] if isinstance(images_argv, tuple) else [],
               skipped=None if isinstance(images_argv, tuple) else images_argv),
        Series("check", [*tool, "check", *CHECK_SETTINGS, "-"], ok_exits=(0, 1)),
        *(Series(name, [sys.executable, "-c", code]) for name, code in FLOORS.items()),
        *(Series(name, [*command, *SETTINGS]) for name, command in extra),
    ]
    if kubectl is not None and kustomize_dir is not None:
        series.append(Series("kustomize", [kubectl, "kustomize", str(kustomize_dir)]))
    return series


# -- streams and kustomizations ---------------------------------------------------------------
def prepare_size(documents: list[Any], corpus_size: int, size: float, workdir: Path, kustomize: bool) -> dict[str, Any]:
    directory = workdir / f"{size}mb"
    directory.mkdir(exist_ok=True)
    built = build_stream(documents, corpus_size, int(size * MB), directory / "stream.yaml")
    log(f"{size} MB: built {built.size / MB:.1f} MB, {built.documents} documents, {built.copies} corpus copies")
    images = kustomize_images(built.path) if kustomize else []
    if kustomize:
        lines = ["resources:", "- stream.yaml", "images:"]
        for name, new_name in images:
            lines += [f"- name: {json.dumps(name)}", f"  newName: {json.dumps(new_name)}"]
        (directory / "kustomization.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"size": size, "built": built, "dir": directory, "kustomize_images": len(images)}


def kustomize_images(stream: Path) -> list[tuple[str, str]]:
    """(name as written, new name) for every image the post-renderer rewrites in ``stream``.

    Kustomize matches the name as written (no Docker normalisation) and keeps the tag,
    so each written spelling gets its own entry.  Collected with the tool's own finder
    (untimed); a plain ``image:`` line scan when the package cannot be imported.
    """
    written: set[str] = set()
    try:
        from postrender.pipeline import collect
        from postrender.rules import load_rules

        findings = collect(stream.read_text(encoding="utf-8"), load_rules())
        written = {site.text for site in findings.sites if not site.candidate}
    except Exception as exc:  # the package is being edited: fall back to a line scan
        log(f"note: finder unavailable ({type(exc).__name__}: {exc}); scanning image: lines")
        pattern = re.compile(r"""^\s*(?:-\s+)?image:\s*["']?([^\s"'#]+)""", re.MULTILINE)
        written = set(pattern.findall(stream.read_text(encoding="utf-8")))
    pairs: dict[str, str] = {}
    for text in sorted(written):
        name = _image_name(text)
        if name and not name.startswith(REGISTRY + "/"):
            pairs[name] = f"{REGISTRY}/{FOLDER}/{_docker_path(name)}"
    return sorted(pairs.items())


def _image_name(reference: str) -> str:
    name = reference.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def _docker_path(name: str) -> str:
    """Repository path below the registry, as Docker normalises it (``nginx`` -> ``library/nginx``)."""
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return rest
    return name if rest else f"library/{name}"


# -- measuring ---------------------------------------------------------------------------------
def measure_size(tool: list[str], prepared: dict[str, Any], images_argv: tuple[str, list[str]] | str,
                 kubectl: str | None, env: dict[str, str], rounds: int, kustomize_rounds: int,
                 extra: list[tuple[str, list[str]]]) -> dict[str, Any]:
    built: BuiltStream = prepared["built"]
    series = commands(tool, images_argv, kubectl, prepared["dir"] if kubectl else None, extra)
    check = verify_output(series, built.path, env, [name for name, _ in extra])
    for s in series:  # warm the page cache and the import caches; kustomize is too slow to warm twice
        if s.skipped is None and s.name != "kustomize":
            warm = run_once(s.argv, built.path, env=env)
            if not s.succeeded(warm):
                s.skipped = f"warm-up failed: exit {warm.returncode}: {warm.stderr.strip()[-300:]}"
    active = [s for s in series if s.skipped is None]
    for round_index in range(max(rounds, kustomize_rounds)):
        shift = round_index % len(active) if active else 0
        for s in active[shift:] + active[:shift]:  # rotate the order each round
            limit = kustomize_rounds if s.name == "kustomize" else rounds
            if round_index >= limit or s.skipped:
                continue
            run = run_once(s.argv, built.path, env=env)
            s.runs.append(run)
            log(f"{prepared['size']} MB round {round_index + 1}: {s.name:11s} {run.seconds:7.3f} s {run.max_rss_mb:7.1f} MB"
                + ("" if s.succeeded(run) else f"  exit {run.returncode}: {run.stderr.strip()[-200:]}"))
            if not s.succeeded(run):
                s.skipped = f"exit {run.returncode}: {run.stderr.strip()[-300:]}"
    return {
        "paired_vs_floor": paired_ratios(series, BASE),
        "size_mb": prepared["size"], "bytes": built.size, "documents": built.documents, "corpus_copies": built.copies,
        "dropped_unrenamed": built.unrenamed, "kustomize_images": prepared["kustomize_images"], "output_check": check,
        "series": {s.name: s.summary() for s in series},
    }


def measure_linearity(tool: list[str], ten: Path, fifty: Path, env: dict[str, str], rounds: int,
                      extra: list[tuple[str, list[str]]]) -> dict[str, Any]:
    """The 50/10 MB ratio from back-to-back pairs: separate size blocks minutes apart see different load."""
    rows = [("post-render", [*tool, *SETTINGS]), *((name, [*command, *SETTINGS]) for name, command in extra)]
    out: dict[str, Any] = {}
    for name, argv in rows:
        ratios = []
        for index in range(rounds):
            order = [ten, fifty] if index % 2 == 0 else [fifty, ten]
            runs = {path: run_once(argv, path, env=env) for path in order}
            if all(r.returncode == 0 for r in runs.values()):
                ratios.append(runs[fifty].seconds / runs[ten].seconds)
        if ratios:
            out[name] = {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios), "ratios": ratios}
            log(f"linearity {name}: 50/10 MB paired median {out[name]['median']:.2f}x")
    return out


def measure_worst_cases(tool: list[str], workdir: Path, env: dict[str, str], scale: float) -> list[dict[str, Any]]:
    """Each generated worst case once per command, against 2x input + 60 MB: within it, or a
    "too large" refusal (exit 1, or 2 from check) that spent little memory."""
    rows = []
    for label, path, commands in worst_cases(workdir, scale):
        size = path.stat().st_size
        allowed = 2 * size / 2**20 + 60
        for command in commands:
            args = {"post-render": [*tool, *SETTINGS], "check": [*tool, "check", *CHECK_SETTINGS, "-"],
                    "images": [*tool, "images", "-"]}[command]
            run = run_once(args, path, env=env)
            refused = "too large" in run.stderr
            rows.append({"case": label, "command": command, "bytes": size, "seconds": run.seconds, "peak_rss_mb": run.max_rss_mb,
                         "allowed_mb": allowed, "exit": run.returncode, "refused": refused,
                         "error": run.stderr.strip()[-300:] if run.returncode and command != "check" or refused else ""})
            log(f"worst case {label} ({command}): {run.seconds:.2f} s, {run.max_rss_mb:.0f} MiB of {allowed:.0f} allowed, "
                f"exit {run.returncode}{' (too large)' if refused else ''}")
        path.unlink()
    return rows


def paired_ratios(series: list[Series], base: str) -> dict[str, float]:
    """Median over rounds of (run / the base's run in the same round): load drifts between
    rounds on a shared machine, much less within one round."""
    reference = next((s for s in series if s.name == base), None)
    if reference is None or not reference.ok:
        return {}
    out = {}
    for s in series:
        pairs = [a.seconds / b.seconds for a, b in zip(s.runs, reference.runs) if s.succeeded(a) and reference.succeeded(b)]
        if pairs and s.name != base:
            out[s.name] = statistics.median(pairs)
    return out


def verify_output(series: list[Series], stream: Path, env: dict[str, str], extra: list[str]) -> dict[str, Any]:
    """One untimed run kept on disk: the output must be the input plus rewritten images;
    every --extra post-renderer must write exactly the same bytes."""
    out = stream.with_suffix(".out.yaml")
    run = run_once(series[0].argv, stream, env=env, capture_stdout=out)
    check: dict[str, Any] = {"exit": run.returncode, "warnings": run.stderr.count("warning:")}
    if run.returncode == 0:
        data = out.read_bytes()
        check.update(output_bytes=len(data), rewritten_references=data.count(f"{REGISTRY}/{FOLDER}/".encode()))
        for s in series:
            if s.name in extra:
                other = stream.with_suffix(f".{s.name}.yaml")
                extra_run = run_once(s.argv, stream, env=env, capture_stdout=other)
                same = extra_run.returncode == 0 and other.read_bytes() == data
                check[f"{s.name}_identical_output"] = same
                if not same:
                    s.skipped = f"output differs from post-render (exit {extra_run.returncode})"
                other.unlink(missing_ok=True)
    out.unlink(missing_ok=True)
    return check


def measure_startup(tool: list[str], stream: Path, images_argv: tuple[str, list[str]] | str,
                    env: dict[str, str], runs: int, extra: list[tuple[str, list[str]]]) -> dict[str, Any]:
    series = [
        Series("post-render", [*tool, *SETTINGS]),
        *(Series(name, [*command, *SETTINGS]) for name, command in extra),
        Series("compose", [sys.executable, "-c", FLOORS["compose"]]),
        Series("python -c pass", [sys.executable, "-c", "pass"]),
    ]
    if isinstance(images_argv, tuple):
        series.insert(1, Series("images", images_argv[1]))
    for s in series:
        run_once(s.argv, stream, env=env)  # warm-up
    for index in range(runs):
        shift = index % len(series)
        for s in series[shift:] + series[:shift]:
            s.runs.append(run_once(s.argv, stream, env=env))
    summary = {s.name: s.summary() for s in series}
    median = summary["post-render"].get("median_s")
    log(f"start-up (one document, {runs} runs): post-render median {median * 1000 if median else float('nan'):.0f} ms")
    return {"stream_bytes": stream.stat().st_size, "runs": runs, "series": summary}


def import_times(tool: list[str], stream: Path, env: dict[str, str], repeats: int = 5) -> dict[str, Any]:
    """``python -X importtime`` of the post-render start-up: median per module over a few runs."""
    per_module: dict[str, list[tuple[int, int, int]]] = {}
    for _ in range(repeats):
        run = run_once_capture([*tool, *SETTINGS], stream, {**env, "PYTHONPROFILEIMPORTTIME": "1"})
        for line in run.splitlines():
            match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
            if match:
                self_us, cumulative_us, depth = int(match[1]), int(match[2]), (len(match[3]) - 1) // 2
                per_module.setdefault(match[4], []).append((self_us, cumulative_us, depth))
    rows = [
        {"module": name, "self_ms": statistics.median(v[0] for v in values) / 1000,
         "cumulative_ms": statistics.median(v[1] for v in values) / 1000, "depth": values[0][2]}
        for name, values in per_module.items()
    ]
    top_level = sorted((r for r in rows if r["depth"] == 0), key=lambda r: -r["cumulative_ms"])
    by_self = sorted(rows, key=lambda r: -r["self_ms"])
    forbidden = sorted(name for name in per_module if name in NOT_AT_STARTUP)
    return {"total_ms": sum(r["cumulative_ms"] for r in top_level), "top_level": top_level[:15], "by_self": by_self[:15],
            "modules": len(per_module), "forbidden": forbidden}


def run_once_capture(argv: list[str], stream: Path, env: dict[str, str]) -> str:
    with open(stream, "rb") as handle:
        return subprocess.run(argv, stdin=handle, capture_output=True, env=env).stderr.decode(errors="replace")


# -- targets and the report --------------------------------------------------------------------
def _median(size: dict[str, Any] | None, name: str, measure: str = "median_s") -> float | None:
    if size is None:
        return None
    value = size["series"].get(name, {}).get(measure)
    return float(value) if value is not None else None


def _cpu_ratio(size: dict[str, Any] | None, name: str, base: str) -> str:
    a, b = _median(size, name, "median_cpu_s"), _median(size, base, "median_cpu_s")
    return f"; CPU time {a / b:.2f}x" if a and b else ""


def check_targets(result: dict[str, Any], row: str = "post-render") -> list[dict[str, Any]]:
    """The issue's targets for ``row`` (post-render, or an --extra post-renderer)."""
    by_size = {s["size_mb"]: s for s in result["sizes"]}
    ten, fifty = by_size.get(10), by_size.get(50)
    targets: list[dict[str, Any]] = []

    def add(key: str, value: float | None, limit: float, below: bool = True, detail: str = "") -> None:
        met = None if value is None else (value <= limit if below else value >= limit)
        targets.append({"target": TARGETS[key], "value": value, "limit": limit, "met": met, "detail": detail})

    pr10, floor10, kz10 = _median(ten, row), _median(ten, BASE), _median(ten, "kustomize")
    pr50, floor50 = _median(fifty, row), _median(fifty, BASE)
    paired10 = ten.get("paired_vs_floor", {}).get(row) if ten else None
    paired50 = fifty.get("paired_vs_floor", {}).get(row) if fifty else None
    add("raw10", pr10 / floor10 if pr10 and floor10 else None, 2.0,
        detail="ratio of medians" + (f"; paired {paired10:.2f}x" if paired10 else "") + _cpu_ratio(ten, row, BASE))
    add("raw50", pr50 / floor50 if pr50 and floor50 else None, 1.8,
        detail="ratio of medians" + (f"; paired {paired50:.2f}x" if paired50 else "") + _cpu_ratio(fifty, row, BASE))
    add("kustomize", kz10 / pr10 if pr10 and kz10 else None, 25.0, below=False,
        detail="kustomize / post-render" + _cpu_ratio(ten, "kustomize", row))
    detail = ""
    if fifty and ten:
        detail = f"50/10 bytes ratio {fifty['bytes'] / ten['bytes']:.2f}"
    paired = result.get("linearity", {}).get(row)
    if paired:
        detail += f"; from separate blocks {pr50 / pr10:.2f}x" if pr50 and pr10 else ""
        add("linear", paired["median"], 5.5, detail="back-to-back pairs, median; " + detail)
    else:
        add("linear", pr50 / pr10 if pr50 and pr10 else None, 5.5, detail=detail)
    worst = None
    for size in result["sizes"]:
        rss = size["series"].get(row, {}).get("peak_rss_mb")
        if rss is not None:
            allowed = 2 * size["bytes"] / 2**20 + 60
            ratio = rss / allowed
            if worst is None or ratio > worst[0]:
                worst = (ratio, f"{size['size_mb']} MB stream: {rss:.0f} MiB of {allowed:.0f} MiB allowed")
    add("rss", worst[0] if worst else None, 1.0, detail=(worst[1] if worst else "") + " (peak / allowance)")
    rss50 = fifty["series"].get(row, {}).get("peak_rss_mb") if fifty else None
    add("rss50", rss50 - fifty["bytes"] / 2**20 if fifty and rss50 is not None else None, 40.0, detail="MiB above the input")
    startup = result["startup"]["series"].get(row, {}).get("median_s") if result["startup"] else None
    bare = result["startup"]["series"].get("python -c pass", {}).get("median_s") if result["startup"] else None
    add("startup", startup / bare if startup and bare else None, 6.0,
        detail=f"ratio of medians; {startup * 1000:.0f} ms vs {bare * 1000:.0f} ms" if startup and bare else "")
    if result["startup"]:
        targets[-1]["detail"] += _cpu_ratio(result["startup"], row, "python -c pass")
    if row != "post-render":
        return targets
    loaded = (result.get("importtime") or {}).get("forbidden")
    add("imports", None if loaded is None else float(len(loaded)), 0.0, detail=", ".join(loaded or []) or "none loaded")
    for command in ("images", "check"):
        ratios = [(s["size_mb"], _median(s, command), _median(s, "post-render")) for s in result["sizes"]]
        ratios = [(mb, i / p) for mb, i, p in ratios if i and p]
        add(command, max(r for _, r in ratios) if ratios else None, TOLERANCE,
            detail=f"worst {command} / post-render: " + ", ".join(f"{mb} MB {r:.2f}x" for mb, r in ratios) + "; CPU time: "
            + ", ".join(f"{s['size_mb']} MB {_cpu_ratio(s, command, 'post-render')[11:]}" for s in result["sizes"]) if ratios else f"{command} not measured")
    return targets


def print_report(result: dict[str, Any]) -> None:
    out = sys.stdout
    meta = result["meta"]
    print(f"\nmachine: {meta['cpu']} ({meta['cores']} cores), {meta['memory_gb']} GB, {meta['os']}, Python {meta['python']}, "
          f"PyYAML {meta['pyyaml']} (libyaml {meta['libyaml']}), {meta['kubectl'] or 'no kubectl'}", file=out)
    print(f"commit {meta['commit']}, {result['rounds']} rounds, corpus {result['corpus']}\n", file=out)
    print(f"| stream | command | median s | min-max s | CPU s | peak RSS MB | vs raw_parse | vs parse | vs compose | vs post-render | paired vs {BASE} | CPU vs {BASE} |", file=out)
    print("|---|---|---|---|---|---|---|---|---|---|---|---|", file=out)
    for size in result["sizes"]:
        floor = _median(size, BASE)
        parse, compose = _median(size, "parse"), _median(size, "compose")
        pr = _median(size, "post-render")
        for name, s in size["series"].items():
            label = f"{size['bytes'] / MB:.1f} MB"
            if s.get("skipped"):
                print(f"| {label} | {name} | skipped: {s['skipped'][:80]} | | | | |", file=out)
                continue
            vs_floor = f"{s['median_s'] / floor:.2f}x" if floor else "-"
            vs_parse = f"{s['median_s'] / parse:.2f}x" if parse else "-"
            vs_compose = f"{s['median_s'] / compose:.2f}x" if compose else "-"
            vs_pr = f"{s['median_s'] / pr:.2f}x" if pr else "-"
            paired = size.get("paired_vs_floor", {}).get(name)
            cpu_floor = _median(size, BASE, "median_cpu_s")
            cpu = f"{s['median_cpu_s'] / cpu_floor:.2f}x" if cpu_floor else "-"
            print(f"| {label} | {name} | {s['median_s']:.3f} | {s['min_s']:.3f}-{s['max_s']:.3f} | {s['median_cpu_s']:.3f} | {s['peak_rss_mb']:.0f} | "
                  f"{vs_floor} | {vs_parse} | {vs_compose} | {vs_pr} | {f'{paired:.2f}x' if paired else '-'} | {cpu} |", file=out)
    startup = result["startup"]
    if startup:
        for name, s in startup["series"].items():
            if "median_s" in s:
                print(f"| 1 document ({startup['stream_bytes']} B) | {name} | {s['median_s']:.3f} | {s['min_s']:.3f}-{s['max_s']:.3f} | {s['median_cpu_s']:.3f} | {s['peak_rss_mb']:.0f} | | | | | | |", file=out)
    for label, targets in [("post-render", result["targets"]), *result.get("extra_targets", {}).items()]:
        print(f"\ntargets ({label}):", file=out)
        for t in targets:
            mark = {True: "met   ", False: "MISSED", None: "n/a   "}[t["met"]]
            value = "-" if t["value"] is None else f"{t['value']:.2f}"
            print(f"  {mark} {t['target']}: {value} (limit {t['limit']}; {t['detail']})", file=out)
    if result["importtime"]:
        it = result["importtime"]
        print(f"\nimport time (python -X importtime, median of 5, top level, ms; sum {it['total_ms']:.0f} ms):", file=out)
        print("  " + ", ".join(f"{r['module']} {r['cumulative_ms']:.1f}" for r in it["top_level"][:10]), file=out)
        print("  by self time: " + ", ".join(f"{r['module']} {r['self_ms']:.1f}" for r in it["by_self"][:10]), file=out)
        print(f"  {it['modules']} modules imported", file=out)
    if result.get("worst_cases"):
        print("\n| worst case | command | MB | s | peak RSS MiB | allowed (2x input + 60) | exit |", file=out)
        print("|---|---|---|---|---|---|---|", file=out)
        for row in result["worst_cases"]:
            print(f"| {row['case']} | {row.get('command', 'post-render')} | {row['bytes'] / MB:.1f} | {row['seconds']:.2f} "
                  f"| {row['peak_rss_mb']:.0f} | {row['allowed_mb']:.0f}{'' if row['peak_rss_mb'] <= row['allowed_mb'] else ' (over)'} "
                  f"| {row['exit']}{' too large' if row.get('refused') else ''} |", file=out)
    for note in result["notes"]:
        print(f"note: {note}", file=out)


def write_results(result: dict[str, Any], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    text = json.dumps(result, indent=2, default=_json_default) + "\n"
    (directory / f"bench-{stamp}.json").write_text(text, encoding="utf-8")
    (directory / "latest.json").write_text(text, encoding="utf-8")
    log(f"results: {directory / f'bench-{stamp}.json'}")


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (Run, BuiltStream)):
        return asdict(value)
    raise TypeError(type(value).__name__)


def machine_info(tool: list[str], kubectl: str | None) -> dict[str, Any]:
    import yaml

    cpu = platform.processor() or "?"
    try:
        model = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        cpu = model.group(1) if model else cpu
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 if hasattr(os, "sysconf") else 0
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "postrender", "rules"], capture_output=True, text=True).stdout.strip()
    version = None
    if kubectl:
        version = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True).stdout.replace("\n", ", ").strip(", ")
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpu": cpu, "cores": os.cpu_count(),
        "memory_gb": round(memory, 1), "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
        "pyyaml": yaml.__version__, "libyaml": yaml.__with_libyaml__ and getattr(yaml, "_yaml", None) and yaml._yaml.get_version_string(),
        "kubectl": version, "commit": commit + ("+local changes" if dirty else ""), "tool": tool,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


if __name__ == "__main__":
    sys.exit(main())
