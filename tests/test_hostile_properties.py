"""Property: on streams with YAML's corners (merge keys, duplicate keys, exotic line breaks,
aliases after comments naming them; see ``strategies.hostile_manifests``) every successful
output parses, loads as the input does except at image values and inserted pull secrets (the
fuzzer's oracle, merge keys resolved as Kubernetes' decoder does), leaves no public image where
Kubernetes reads one, and is left alone by a second run.
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postrender.errors import CollisionError, InputError
from postrender.testing import render
from strategies import EXCLUDE, Hostile, expected_target, hostile_manifests, pod_specs

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import fuzz  # noqa: E402  (the fuzzer's oracle: one definition of "changed only where allowed")

REGISTRY = "registry.intern"
PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROFILE
@given(hostile_manifests(private=(REGISTRY,)), st.sampled_from([(), ("regcred",), ("regcred", "backup")]))
def test_output_parses_and_changes_only_images_and_pull_secrets(case: Hostile, secrets: tuple[str, ...]) -> None:
    try:
        result = render(case.text, registry=REGISTRY, pull_secrets=secrets, exclude=EXCLUDE)
    except CollisionError:
        return  # two generated images on one target: reported, nothing written
    except InputError as exc:
        raise AssertionError(f"{case.changes}: valid input refused: {exc}") from None
    output = result.output
    list(yaml.load_all(output, Loader=yaml.CBaseLoader))  # parses
    problem = fuzz.unexpected_change(case.text.encode(), output.encode(), REGISTRY, secrets)
    assert problem is None, f"{case.changes}: {problem}"
    by_written = {ref.written: ref for ref in case.refs}
    for document in fuzz.load_as_kubernetes(output.encode()) or []:
        for spec in pod_specs(document):
            for container in spec.get("initContainers", []) + spec["containers"]:
                image = container["image"]
                if not image.startswith(REGISTRY + "/"):  # untouched: excluded, private or not a reference
                    assert expected_target(by_written[image], REGISTRY, None) is None, (case.changes, image)
            if secrets:
                assert {s["name"] for s in spec["imagePullSecrets"]} >= set(secrets), case.changes
    again = render(output, registry=REGISTRY, pull_secrets=secrets, exclude=EXCLUDE)
    assert again.output == output, case.changes
