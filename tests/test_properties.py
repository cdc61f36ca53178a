"""Property-based tests over generated manifests (see strategies.py for what is generated).

For every stream: the output loads as the input with only the image fields rewritten and
the pull secrets added; every image is private, excluded or not a reference; the image list
is exactly the set of rewritten images; and a second run changes nothing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postrender.errors import CollisionError
from postrender.pipeline import Result
from postrender.testing import render
from strategies import EXCLUDE, Manifest, Ref, expected_documents, expected_target, manifests, pod_specs

REGISTRIES = ("registry.intern", "harbor.example:8443", "localhost:5000")
PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@dataclass(frozen=True)
class Setup:
    registry: str
    folder: str | None
    secrets: tuple[str, ...]

    def run(self, text: str) -> Result:
        return render(text, registry=self.registry, folder=self.folder, pull_secrets=self.secrets, exclude=EXCLUDE)


@st.composite
def cases(draw: st.DrawFn, existing_secrets: str = "anywhere") -> tuple[Setup, Manifest]:
    setup = Setup(draw(st.sampled_from(REGISTRIES)), draw(st.sampled_from([None, "civitas", "team/apps"])),
                  draw(st.sampled_from([(), ("regcred",), ("regcred", "backup")])))
    return setup, draw(manifests(private=(setup.registry,), existing_secrets=existing_secrets))


def _targets(manifest: Manifest, setup: Setup) -> dict[str, str]:
    """source -> target for every image that must be rewritten."""
    out: dict[str, str] = {}
    for ref in manifest.refs:
        target = expected_target(ref, setup.registry, setup.folder)
        if target is not None:
            out[ref.source] = target
    return out


def _clashing(manifest: Manifest, setup: Setup) -> bool:
    """Two images clash when they land on one repository and tag (untagged: ``latest``; a
    ``tag@digest``: its tag) and differ in source name or pinned digest; a digest-only image is
    stored under its digest, which names its content, and never clashes."""
    landed: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for ref in manifest.refs:
        target = expected_target(ref, setup.registry, setup.folder)
        if target is None:
            continue
        tag, _, digest = ("", "", ref.suffix[1:]) if ref.suffix.startswith("@") else ref.suffix[1:].partition("@")
        if digest and not tag:
            continue
        landed.setdefault((target[:len(target) - len(ref.suffix)], tag or "latest"), set()).add((ref.name, digest))
    return any(len({name for name, _ in group}) > 1 or len({d for _, d in group if d}) > 1 for group in landed.values())


def _run(setup: Setup, manifest: Manifest) -> Result | None:
    """The result, or None after checking that a reported collision is real."""
    clashing = _clashing(manifest, setup)
    try:
        result = setup.run(manifest.text)
    except CollisionError:
        assert clashing, "collision reported for distinct targets"
        return None
    assert not clashing, "two sources on one target went unreported"
    return result


def _loaded(text: str) -> list[object]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


@PROFILE
@given(cases())
def test_output_loads_as_input_with_only_images_and_secrets_changed(case: tuple[Setup, Manifest]) -> None:
    setup, manifest = case
    result = _run(setup, manifest)
    if result is None:
        return
    assert _loaded(manifest.text) == manifest.loaded()  # the generator wrote what it meant
    assert _loaded(result.output) == expected_documents(manifest, setup.registry, setup.folder, setup.secrets)


@PROFILE
@given(cases())
def test_every_image_is_private_excluded_or_not_a_reference(case: tuple[Setup, Manifest]) -> None:
    setup, manifest = case
    result = _run(setup, manifest)
    if result is None:
        return
    by_written = {ref.written: ref for ref in manifest.refs}
    for doc in _loaded(result.output):
        for spec in pod_specs(doc):  # type: ignore[arg-type]
            for container in spec.get("initContainers", []) + spec["containers"]:
                image = container["image"]
                if image.startswith(setup.registry + "/"):
                    continue
                ref: Ref = by_written[image]  # untouched: excluded, or not a reference
                assert not ref.is_reference or ref.name in ("docker.io/library/busybox",) or ref.name.startswith("ghcr.io/acme/"), image
    not_references = {ref.written for ref in manifest.refs if not ref.is_reference and ref.written}
    for value in not_references:  # each is reported, with document and line
        assert any(repr(value) in w and "line " in w and "document " in w for w in result.warnings), value


@PROFILE
@given(cases())
def test_image_list_is_the_set_of_rewritten_images(case: tuple[Setup, Manifest]) -> None:
    setup, manifest = case
    result = _run(setup, manifest)
    if result is None:
        return
    listed = result.image_list(render_settings(setup))
    assert {i["source"]: i["target"] for i in listed["images"]} == _targets(manifest, setup)
    assert [i["source"] for i in listed["images"]] == sorted(i["source"] for i in listed["images"])
    occurrences = sum(len(i["occurrences"]) for i in listed["images"])
    assert occurrences == sum(1 for ref in manifest.refs if expected_target(ref, setup.registry, setup.folder))


@PROFILE
@given(cases())
def test_running_twice_equals_running_once(case: tuple[Setup, Manifest]) -> None:
    setup, manifest = case
    result = _run(setup, manifest)
    if result is None:
        return
    again = setup.run(result.output)
    assert again.output == result.output
    assert again.plan.rewrites == []


@PROFILE
@given(cases())
def test_line_endings_bom_and_json_documents_survive(case: tuple[Setup, Manifest]) -> None:
    setup, manifest = case
    text = "\ufeff" + manifest.text
    try:
        output = setup.run(text).output
    except CollisionError:
        return
    assert output.startswith("\ufeff")
    if "\r\n" in manifest.text:  # inserted lines follow the stream's line endings
        assert output.count("\n") == output.count("\r\n")
    else:
        assert "\r" not in output
    for chunk in output.lstrip("\ufeff").replace("\r\n", "\n").split("\n"):
        if chunk.startswith("{"):
            json.loads(chunk)  # a JSON document stays JSON


def render_settings(setup: Setup) -> object:
    from postrender.settings import Settings

    return Settings(registry=setup.registry, folder=setup.folder, pull_secrets=setup.secrets, exclude=EXCLUDE)
