"""The one collision check: keyed on the repository and tag (or digest) a registry stores,
shared by post-render and ``images``, over the fixtures in fixtures/mirror/collisions/."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import FIXTURES, run_cli
from postrender import collisions
from postrender.errors import CollisionError
from postrender.reference import parse_reference

CASES = sorted((FIXTURES / "mirror" / "collisions").glob("*.yaml"))
DIGEST_A, DIGEST_B = "sha256:" + "a" * 64, "sha256:" + "b" * 64
SCHEMES = {"folder": ["--folder", "civitas"], "flat": []}


def landing(source: str, repository: str | None = None) -> collisions.Landing:
    ref = parse_reference(source)
    assert ref is not None
    return collisions.Landing(ref, repository or ref.path, f"where {source} is")


@pytest.mark.parametrize(("sources", "clash"), [
    (["x.io/a/b", "y.io/a/b:latest"], "a/b:latest"),
    (["x.io/a/b:1@" + DIGEST_A, "y.io/a/b:1"], "a/b:1"),
    (["x.io/a/b:1", "y.io/a/b:1"], "a/b:1"),
    (["x.io/a/b:1@" + DIGEST_A, "x.io/a/b:1@" + DIGEST_B], "a/b:1"),
    (["x.io/a/b", "x.io/a/b:latest"], None),
    (["x.io/a/b:1", "x.io/a/b:1@" + DIGEST_A], None),
    (["x.io/a/b@" + DIGEST_A, "y.io/a/b@" + DIGEST_A], None),
    (["x.io/a/b@" + DIGEST_A, "y.io/a/b@" + DIGEST_B], None),
    (["x.io/a/b@" + DIGEST_A, "y.io/a/b:1"], None),
    (["x.io/a/b:1", "y.io/a/b:2"], None),
], ids=["untagged-and-latest", "pinned-and-tag", "same-tag", "one-tag-two-digests", "same-image-latest",
        "same-image-pinned", "one-digest", "two-digests", "digest-and-tag", "two-tags"])
def test_landing_keys(sources: list[str], clash: str | None) -> None:
    if clash is None:
        collisions.check([landing(s) for s in sources], "registry.intern")
        return
    with pytest.raises(CollisionError) as raised:
        collisions.check([landing(s) for s in sources], "registry.intern")
    (message,) = raised.value.problems
    assert f"be stored as registry.intern/{clash}" in message
    for source in sources:
        assert f"{parse_reference(source).normalized} (first seen at where {source} is)" in message  # type: ignore[union-attr]


def test_overrides_and_folders_are_what_is_compared() -> None:
    collisions.check([landing("x.io/a/b:1", "civitas/a/b"), landing("y.io/a/b:1", "civitas/y/a/b")], None)
    with pytest.raises(CollisionError, match="stored as civitas/a/b:1 below the registry"):
        collisions.check([landing("x.io/a/b:1", "civitas/a/b"), landing("y.io/c/b:1", "civitas/a/b")], None)


def test_message_without_a_registry_names_a_path_below_it() -> None:
    with pytest.raises(CollisionError) as raised:
        collisions.check([landing("x.io/apache/superset"), landing("y.io/apache/superset:latest")], None)
    (message,) = raised.value.problems
    assert "stored as apache/superset:latest below the registry" in message
    assert "/**/" not in message and " /apache" not in message
    assert "--exclude" in message and "'overrides: {y.io/apache/superset: apache/y.io/superset}'" in message


def expectation(path: Path) -> str | None:
    match = re.search(r"^# expect-collision: (\S+)$", path.read_text(), re.MULTILINE)
    assert match, f"{path.name} says what it expects"
    return None if match[1] == "none" else match[1]


def sources_of(path: Path) -> list[str]:
    return re.findall(r"^      image: (\S+)$", path.read_text(), re.MULTILINE)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_post_render_and_images_agree_on_every_case(case: Path, scheme: str, tmp_path: Path) -> None:
    expected = expectation(case)
    prefix = "civitas/" if scheme == "folder" else ""
    settings = ["--registry", "registry.intern", *SCHEMES[scheme]]
    # One release per document for `images`: the message names the file each source came from.
    documents = case.read_text().split("---\n")[1:]
    releases = []
    for number, document in enumerate(documents):
        releases.append(tmp_path / f"release-{number}.yaml")
        releases[-1].write_text(document)
    post_render = run_cli(settings, stdin=case.read_bytes())
    images = run_cli(["images", *settings, *map(str, releases)])
    images_without_registry = run_cli(["images", *SCHEMES[scheme], *map(str, releases)])
    if expected is None:
        assert (post_render.returncode, images.returncode, images_without_registry.returncode) == (0, 0, 0)
        assert post_render.stdout.decode().count(f"image: registry.intern/{prefix}") == len(documents)
        return
    for result, target in [(post_render, f"registry.intern/{prefix}{expected}"), (images, f"registry.intern/{prefix}{expected}"),
                           (images_without_registry, f"{prefix}{expected} below the registry")]:
        assert result.returncode == 1 and result.stdout == b""
        (message,) = [line for line in result.stderr.decode().splitlines() if "collision" in line]
        assert f"be stored as {target}" in message
        assert "ways out: --exclude" in message and "'overrides:" in message
        for source in set(sources_of(case)):
            assert parse_reference(source).normalized in message  # type: ignore[union-attr]
    post_message = post_render.stderr.decode()
    assert "first seen at document 0 (release/templates/one.yaml) Pod/one line" in post_message
    assert "first seen at document 1 (release/templates/two.yaml) Pod/two line" in post_message
    images_message = images.stderr.decode()
    for release in releases:
        assert f"first seen at {release} document 0" in images_message


def test_every_case_is_a_fixture() -> None:
    assert {c.stem for c in CASES} >= {"untagged-and-latest", "pinned-and-tag", "same-tag-two-registries",
                                        "one-tag-two-digests", "same-image-untagged-and-latest",
                                        "same-image-tag-and-pinned", "digest-only"}
    for case in CASES:
        assert case.read_text().startswith("# Models ")


def test_an_override_is_the_way_out(tmp_path: Path) -> None:
    case = FIXTURES / "mirror" / "collisions" / "same-tag-two-registries.yaml"
    config = tmp_path / "postrender.yaml"
    config.write_text("registry: registry.intern\nfolder: civitas\n"
                      "overrides:\n  apachesuperset.docker.scarf.sh/apache/*: civitas/scarf/apache/superset\n")
    result = run_cli(["--config", str(config)], stdin=case.read_bytes())
    assert result.returncode == 0, result.stderr.decode()
    output = result.stdout.decode()
    assert "image: registry.intern/civitas/apache/superset:4.1.2" in output
    assert "image: registry.intern/civitas/scarf/apache/superset:4.1.2" in output
    listed = run_cli(["images", "--config", str(config), "--format", "map", str(case)])
    assert listed.stdout.decode().splitlines() == [
        "apachesuperset.docker.scarf.sh/apache/superset:4.1.2 registry.intern/civitas/scarf/apache/superset:4.1.2",
        "docker.io/apache/superset:4.1.2 registry.intern/civitas/apache/superset:4.1.2"]
