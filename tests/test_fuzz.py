"""A bounded run of benchmarks/fuzz.py: mutated fixture streams only ever exit 0 or 1.

The full run (thousands of mutations, corpus streams) is ``python benchmarks/fuzz.py``;
here a few hundred seeded mutations keep the default suite fast.  Any failure (exit 3, a
traceback, invalid output, a changed document count, output a second run would change)
fails the test.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_fuzz() -> ModuleType:
    spec = importlib.util.spec_from_file_location("civitas_fuzz", ROOT / "benchmarks" / "fuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


fuzz = _load_fuzz()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mutated_fixtures_exit_0_or_1(seed: int) -> None:
    counts, _ = fuzz.fuzz(fuzz.default_streams(corpus=False), iterations=200, seed=seed, save=False, log=None)
    failures = {k: v for k, v in counts.items() if k.startswith("FAIL:")}
    assert failures == {}, f"new failures (rerun: python benchmarks/fuzz.py --seed {seed} --iterations 200): {dict(counts)}"
    assert counts["exit 0"] > 0 and counts["exit 1"] > 0  # the mutations reach both outcomes


def test_fuzz_is_repeatable() -> None:
    streams = fuzz.default_streams(corpus=False)
    assert fuzz.fuzz(streams, 50, seed=9, save=False, log=None)[0] == fuzz.fuzz(streams, 50, seed=9, save=False, log=None)[0]


def test_every_mutator_changes_something() -> None:
    import random

    data = (ROOT / "fixtures" / "civitas-analytics.yaml").read_bytes()
    for name, mutator in fuzz.MUTATORS.items():
        rnd = random.Random(3)
        assert any(mutator(rnd, data) != data for _ in range(20)), name


@pytest.mark.parametrize(("outcome", "kind"), [
    (("hang", b"", ""), "hang"),
    ((3, b"", "civitas-postrender: error: an unexpected error has occurred: KeyError: 'x'\n"), "exit-3"),
    ((1, b"half", "civitas-postrender: error: document 0 line 1: invalid YAML\n"), "stdout-on-failure"),
    ((1, b"", "Traceback (most recent call last):\n"), "traceback"),
    ((0, b"a: [\n", ""), "output-not-yaml"),
    ((0, b"", ""), "document-count-changed"),
])
def test_the_checks_catch_each_kind_of_failure(outcome: tuple[object, bytes, str], kind: str) -> None:
    data = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
    assert fuzz.check(["--registry", "registry.intern"], data, fuzz.Outcome(*outcome)) == kind


def test_a_run_that_changes_on_second_pass_is_caught() -> None:
    data = b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: nginx}]\n"
    unrewritten = fuzz.Outcome(0, data, "")  # claims success but left the image public
    assert fuzz.check(["--registry", "registry.intern"], data, unrewritten) == "not-idempotent"


def test_in_process_run_matches_the_contract() -> None:
    ok = fuzz.run_inprocess(["--registry", "registry.intern"], b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: nginx}]}\n")
    assert (ok.code, ok.stdout) == (0, b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: registry.intern/library/nginx}]}\n")
    bad = fuzz.run_inprocess(["--registry", "registry.intern"], b"kind: [\n")
    assert (bad.code, bad.stdout) == (1, b"") and "document 0 line 2" in bad.stderr


@pytest.mark.parametrize("stderr", [
    "civitas-postrender: warning: document 0 Pod/p\x1b[2J: not an image reference\n",  # drives the terminal
    "civitas-postrender: warning: Pod/p\nok: all images served\n",  # a forged line
    "civitas-postrender: warning: Pod/p\u2028civitas-postrender: ok\n",
    "civitas-postrender: warning: Pod/p\rcivitas-postrender: ok\n",
])
def test_unescaped_control_characters_on_stderr_are_caught(stderr: str) -> None:
    data = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
    assert fuzz.check(["--registry", "registry.intern"], data, fuzz.Outcome(0, data, stderr)) == "unescaped-stderr"


def test_control_chars_mutations_are_escaped_on_stderr() -> None:
    """Names with control characters, as the mutator writes them, reach stderr escaped (both exits)."""
    import random

    data = (ROOT / "fixtures" / "civitas-analytics.yaml").read_bytes()
    rnd, codes = random.Random(5), set()
    for _ in range(40):
        mutated = fuzz.control_chars(rnd, data)
        args = ["--registry", "registry.intern", "--strict"]
        outcome = fuzz.run_inprocess(args, mutated)
        codes.add(outcome.code)
        assert fuzz.check(args, mutated, outcome) is None, outcome.stderr
    assert codes == {0, 1}


@pytest.mark.parametrize("streams", fuzz.IO_KINDS)
def test_io_kinds_hold_on_a_good_stream(streams: str) -> None:
    data = b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: nginx}]\n"
    args = ["--registry", "registry.intern"]
    normal = fuzz.run_inprocess(args, data)
    assert normal.code == 0
    assert fuzz.check_streams(args, data, normal, streams) is None


def test_io_kinds_catch_a_wrong_outcome() -> None:
    data = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
    claimed = fuzz.Outcome(0, b"something else\n", "")  # what a closed stderr must not change
    assert fuzz.check_streams(["--registry", "registry.intern"], data, claimed, "closed-stderr") == "closed-stderr-changed-stdout"


def test_a_split_repository_under_the_folder_is_no_unexpected_change() -> None:
    """``{registry, repository}``: the registry becomes the mirror's, the repository goes under the folder."""
    before = b"apiVersion: x/v1\nkind: X\nspec:\n  image: {registry: docker.io, repository: bitnami/wordpress, tag: '6'}\n"
    after = before.replace(b"docker.io", b"registry.intern").replace(b"bitnami/", b"civitas/bitnami/")
    assert fuzz.unexpected_change(before, after, "registry.intern", [], "civitas") is None
    assert fuzz.unexpected_change(before, after, "registry.intern", []) is not None  # without a folder it is one
    wrong = before.replace(b"bitnami/", b"other/bitnami/")
    assert fuzz.unexpected_change(before, wrong, "registry.intern", [], "civitas") is not None
