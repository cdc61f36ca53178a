"""Split references (postrender.split): the shapes recognised, what each part becomes, and decoys."""
from __future__ import annotations

import pytest

from postrender.reference import parse_reference
from postrender.split import find_block, part_text
from postrender.testing import render


@pytest.mark.parametrize(
    ("values", "joined", "part"),
    [
        ({"repository": "nvcr.io/nvidia", "image": "driver", "version": "460.73.01"},
         "nvcr.io/nvidia/driver:460.73.01", "prefix:driver:460.73.01"),
        ({"repository": "nvcr.io/nvidia/k8s", "image": "container-toolkit", "tag": "1.5.0-ubi8"},
         "nvcr.io/nvidia/k8s/container-toolkit:1.5.0-ubi8", "prefix:container-toolkit:1.5.0-ubi8"),
        ({"repository": "quay.io/acme/", "image": "validator", "version": "v1.7.0", "imagePullPolicy": "Always"},
         "quay.io/acme/validator:v1.7.0", "prefix:validator:v1.7.0"),
    ],
)
def test_prefix_repository_beside_image(values: dict[str, object], joined: str, part: str) -> None:
    """``{repository: REGISTRY/PATH, image: NAME, version: TAG}``: the repository becomes the
    target's prefix, the image and version stay, joined they give the whole-string rewrite."""
    block = find_block(values, False, prefixed=True)
    assert block is not None and block.ref.normalized == joined
    assert block.parts == {part: "repository"} and set(block.keys) == {"repository", "image"}
    target = parse_reference(f"registry.intern/civitas/{block.ref.path}{block.ref.suffix}")
    assert target is not None
    assert part_text(part, str(values["repository"]), target) == "registry.intern/civitas/" + block.ref.path.rsplit("/", 1)[0]


@pytest.mark.parametrize(
    ("values", "prefixed"),
    [
        ({"repository": "nvcr.io/nvidia", "image": "driver", "version": "1"}, False),  # not asked for: charts' values keep their shapes
        ({"repository": "bitnami", "image": "redis", "version": "7"}, True),  # the repository names no registry
        ({"repository": "nvcr.io/nvidia", "image": "quay.io/x/driver", "version": "1"}, True),  # the image names its own
        ({"repository": "nvcr.io/nvidia", "image": "driver"}, True),  # no tag or version: not this shape
        ({"repository": "nvcr.io/nvidia:1", "image": "driver", "version": "1"}, True),  # a tag in the repository
        ({"repository": "nvcr.io/nvidia", "image": {"name": "driver"}, "version": "1"}, True),
    ],
)
def test_prefix_shape_decoys(values: dict[str, object], prefixed: bool) -> None:
    block = find_block(values, False, prefixed=prefixed)
    assert block is None or block.image_key is None


GPU = """\
apiVersion: nvidia.example.com/v1
kind: AcceleratorPolicy
metadata:
  name: p
spec:
  driver:
    repository: nvcr.io/nvidia
    image: driver
    version: "550.54.15"
    imagePullPolicy: IfNotPresent
  validator:
    repository: quay.io/acme/tools
    image: validator
    version: v1.7.0
  toolkit:
    repository: nvcr.io/nvidia/k8s
    image: container-toolkit
    version: 1.5.0-ubi8
"""


def test_prefix_blocks_in_a_custom_resource() -> None:
    """Each repository is rewritten to where the mirror puts the joined image; nothing is left as a
    candidate (the bare ``image: driver`` was reported before); a second run changes nothing."""
    result = render(GPU, registry="registry.intern", folder="civitas")
    assert result.output == (GPU.replace("repository: nvcr.io/nvidia", "repository: registry.intern/civitas/nvidia")
                             .replace("repository: quay.io/acme/tools", "repository: registry.intern/civitas/acme/tools"))
    assert not result.plan.candidates_left
    assert {image.source for image in result.plan.images} == {
        "nvcr.io/nvidia/driver:550.54.15", "quay.io/acme/tools/validator:v1.7.0", "nvcr.io/nvidia/k8s/container-toolkit:1.5.0-ubi8"}
    again = render(result.output, registry="registry.intern", folder="civitas")
    assert again.output == result.output and not again.plan.candidates_left
