"""plan: which references the private registry already serves, and the limits of a target."""
from __future__ import annotations

import pytest

from conftest import run_cli, without_summary
from postrender.plan import is_private, outside_folder
from postrender.reference import parse_reference
from postrender.settings import Settings, registry_host

FLAT = Settings(registry="registry.intern")
FOLDER = Settings(registry="registry.intern", folder="civitas")
DEEP = Settings(registry="registry.intern", folder="platform/civitas")


@pytest.mark.parametrize(("host", "identity"), [
    ("registry.intern", "registry.intern"),
    ("Registry.INTERN", "registry.intern"),
    ("registry.intern:443", "registry.intern"),
    ("registry.intern:80", "registry.intern"),
    ("registry.intern:5000", "registry.intern:5000"),
    ("registry.intern:4430", "registry.intern:4430"),
    ("registry-1.docker.io", "docker.io"),
    ("INDEX.docker.io:443", "docker.io"),
    ("docker.io", "docker.io"),
    ("quay.io", "quay.io"),
])
def test_registry_host(host: str, identity: str) -> None:
    assert registry_host(host) == identity


@pytest.mark.parametrize(("reference", "settings", "private"), [
    # flat: the host decides, compared as hosts are
    ("registry.intern/apache/superset:4.1.2", FLAT, True),
    ("REGISTRY.INTERN/apache/superset:4.1.2", FLAT, True),
    ("registry.intern:443/apache/superset:4.1.2", FLAT, True),
    ("Registry.Intern:80/apache/superset:4.1.2", FLAT, True),
    ("registry.intern:5000/apache/superset:4.1.2", FLAT, False),
    ("registry.internal/apache/superset:4.1.2", FLAT, False),
    ("apache/superset:4.1.2", FLAT, False),
    # folder mode: the path must lie below the folder
    ("registry.intern/civitas/apache/superset:4.1.2", FOLDER, True),
    ("REGISTRY.INTERN:443/civitas/library/nginx:1.27", FOLDER, True),
    ("registry.intern/bitnami/redis:8.2.1", FOLDER, False),
    ("registry.intern/civitasx/redis:8.2.1", FOLDER, False),
    ("registry.intern/civitas:1.0", FOLDER, False),  # a repository named like the folder is not inside it
    ("registry.intern/platform/civitas/redis:8.2.1", DEEP, True),
    ("registry.intern/platform/redis:8.2.1", DEEP, False),
    ("docker.io/library/nginx:1.27", FOLDER, False),
])
def test_is_private(reference: str, settings: Settings, private: bool) -> None:
    ref = parse_reference(reference)
    assert ref is not None and settings.registry is not None
    assert is_private(ref, settings.registry, settings) is private
    on_host = registry_host(ref.domain) == "registry.intern"
    assert outside_folder(ref, settings.registry, settings) is (on_host and not private)


@pytest.mark.parametrize("registry", ["registry-1.docker.io", "index.docker.io:443", "DOCKER.IO"])
def test_docker_hub_aliases_are_one_registry(registry: str) -> None:
    ref = parse_reference("nginx:1.27")
    assert ref is not None and is_private(ref, registry, Settings(registry=registry))


def test_no_registry_makes_nothing_private() -> None:
    ref = parse_reference("registry.intern/a/b:1")
    assert ref is not None and not is_private(ref, "", Settings())


def test_an_override_target_outside_the_folder_stays_private() -> None:
    settings = Settings(registry="registry.intern", folder="civitas", overrides=(("docker.io/apache/superset", "upstream/superset"),))
    ref = parse_reference("registry.intern/upstream/superset:4.1.2")
    assert ref is not None and is_private(ref, "registry.intern", settings)


POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
    - name: a
      image: {image}
"""


@pytest.mark.parametrize(("image", "output"), [
    ("REGISTRY.INTERN/civitas/x:1", "REGISTRY.INTERN/civitas/x:1"),  # already there: a second run never adds the folder again
    ("registry.intern:443/civitas/x:1", "registry.intern:443/civitas/x:1"),
    ("registry.intern/civitas/x:1", "registry.intern/civitas/x:1"),
    ("registry-1.docker.io/library/nginx:1.25", "registry.intern/civitas/library/nginx:1.25"),
])
def test_post_render_identity(image: str, output: str) -> None:
    result = run_cli(["--registry", "registry.intern", "--folder", "civitas"], POD.format(image=image))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == POD.format(image=output) and without_summary(result.stderr) == ""


def test_post_render_rewrites_and_reports_an_image_outside_the_folder() -> None:
    result = run_cli(["--registry", "registry.intern", "--folder", "civitas"], POD.format(image="registry.intern/bitnami/redis:8.2.1"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == POD.format(image="registry.intern/civitas/bitnami/redis:8.2.1")
    assert without_summary(result.stderr) == (
        "civitas-postrender: warning: document 0 Pod/p line 8 column 14 at spec.containers[0].image: "
        "registry.intern/bitnami/redis:8.2.1 is on registry.intern but outside the folder civitas, where the mirror "
        "puts nothing: rewritten to registry.intern/civitas/bitnami/redis:8.2.1\n")
    again = run_cli(["--registry", "registry.intern", "--folder", "civitas"], result.stdout)
    assert again.stdout == result.stdout and without_summary(again.stderr) == ""


def test_check_reports_an_image_outside_the_folder() -> None:
    result = run_cli(["check", "--registry", "registry.intern", "--folder", "civitas"], POD.format(image="Registry.Intern:443/bitnami/redis:8.2.1"))
    assert result.returncode == 1
    assert ("Registry.Intern:443/bitnami/redis:8.2.1 is on registry.intern but outside the folder civitas, where the "
            "mirror puts nothing (post-render makes it registry.intern/civitas/bitnami/redis:8.2.1)") in result.stdout.decode()


def test_a_target_over_255_characters_is_refused() -> None:
    folder = "/".join(["f" * 60] * 3)  # the registry and folder fit, a long image name does not
    image = "docker.io/acme/" + "n" * 60 + ":1"
    result = run_cli(["--registry", "registry.intern", "--folder", folder], POD.format(image=image))
    assert result.returncode == 1 and result.stdout == b""
    assert "over Docker's limit of 255" in result.stderr.decode() and "Pod/p" in result.stderr.decode()
    fits = run_cli(["--registry", "registry.intern", "--folder", folder], POD.format(image="nginx:1"))
    assert fits.returncode == 0, fits.stderr


@pytest.mark.parametrize(("one", "other"), [
    ("nginx:1.25", "registry-1.docker.io/library/nginx:1.25"),
    ("nginx:1.25", "index.docker.io/nginx:1.25"),
    ("docker.io/library/nginx:1.25", "Docker.IO/library/nginx:1.25"),
    ("quay.io/x/y:1", "Quay.IO/x/y:1"),
    ("quay.io/x/y:1", "quay.io:443/x/y:1"),
])
def test_two_spellings_of_one_image_are_one_source_not_a_collision(one: str, other: str) -> None:
    pod = POD.format(image=one) + "    - name: b\n      image: " + other + "\n"
    result = run_cli(["--registry", "registry.intern", "--folder", "civitas"], pod)
    assert result.returncode == 0, result.stderr
    first, second = parse_reference(one), parse_reference(other)
    assert first is not None and first == second
    target = f"registry.intern/civitas/{first.path}{first.suffix}"
    assert result.stdout.decode().count(f"image: {target}\n") == 2
