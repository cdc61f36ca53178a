#!/usr/bin/env python3
"""Where post-render spends its time on one stream, in-process (no start-up, no pipes).

    .venv/bin/python benchmarks/diagnose.py STREAM              # medians: the floors and post-render
    .venv/bin/python benchmarks/diagnose.py STREAM --cprofile   # plus the top functions

A diagnosis aid, not a benchmark (``run.py`` measures whole processes side by side).  It
runs the core as post-render mode does; it has no copy of any part of it.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml
import yaml._yaml


def _compose(data: bytes) -> None:
    gc.disable()
    try:
        for _ in yaml.compose_all(data, Loader=yaml.CBaseLoader):
            pass
    finally:
        gc.enable()


def _parse(data: bytes) -> None:
    for _ in yaml.parse(data, Loader=yaml.CBaseLoader):
        pass


def _raw_parse(data: bytes) -> None:
    parser = yaml._yaml.CParser(data)
    parser.raw_parse()
    parser.dispose()


def _post_render(data: bytes) -> Callable[[], None]:
    from postrender.documents import decode
    from postrender.pipeline import post_render
    from postrender.rules import load_rules
    from postrender.settings import Settings

    settings = Settings(registry="registry.intern", folder="civitas", pull_secrets=("regcred",))
    rules = load_rules()

    def run() -> None:
        for _ in post_render(decode(data), settings, rules).chunks():
            pass

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stream", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cprofile", action="store_true", help="also print the top functions by own and cumulative time")
    args = parser.parse_args(argv)
    data = args.stream.read_bytes()
    runs: dict[str, Callable[[], None]] = {
        "raw_parse": lambda: _raw_parse(data), "parse": lambda: _parse(data), "compose": lambda: _compose(data),
        "post-render": _post_render(data),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for name, run in runs.items():
        run()  # warm: imports, rules, first parses
    for index in range(args.rounds):  # interleaved: load drifts
        names = list(runs)[index % len(runs):] + list(runs)[:index % len(runs)]
        for name in names:
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["raw_parse"])
    print(f"{args.stream}: {len(data) / 1e6:.1f} MB, {args.rounds} rounds, in-process")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:12s} {median:7.3f} s  ({min(values):.3f}-{max(values):.3f})  {median / base:5.2f}x raw_parse")
    if args.cprofile:
        profile = cProfile.Profile()
        profile.runcall(runs["post-render"])
        for order in ("tottime", "cumulative"):
            buffer = io.StringIO()
            pstats.Stats(profile, stream=buffer).sort_stats(order).print_stats(25)
            print("\n".join(line for line in buffer.getvalue().splitlines() if line.strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
