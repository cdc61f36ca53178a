"""Regressions: hostile inputs that the core once got wrong (found by the catalogue, the
property tests and the fuzzer), each with its defined behaviour.  BUG numbers refer to the
reliability report that found them."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_hostile_inputs import POD_WITH_SECRETS, REGISTRY, Case, run_bounded, run_case


def _list_bomb(levels: int = 8, width: int = 9) -> str:
    """Billion laughs through kind: List items: each level lists the one below nine times."""
    lines = ["apiVersion: v1", "kind: List", "metadata: {name: bomb}", "x:",
             "  l0: &l0 {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: a, image: nginx}]}}"]
    lines += [f"  l{i}: &l{i} {{apiVersion: v1, kind: List, items: [" + ", ".join([f"*l{i - 1}"] * width) + "]}"
              for i in range(1, levels + 1)]
    lines.append("items: [" + ", ".join([f"*l{levels}"] * width) + "]")
    return "\n".join(lines) + "\n"


SELF_LIST = "apiVersion: v1\nkind: List\nitems: &items\n- apiVersion: v1\n  kind: List\n  items: *items\n"

PROMETHEUS_DUP = """\
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: k8s
spec:
  image: quay.io/prometheus/prometheus:v2.0.0
  image: quay.io/prometheus/prometheus:v3.0.0
"""

ANCHOR_OUTSIDE_IMAGES = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    upstream-image: &img quay.io/acme/app:1.0
spec:
  containers:
  - name: a
    image: *img
"""

APIVERSION_ANCHOR = """\
apiVersion: &api acid.zalan.do/v1
kind: postgresql
metadata:
  name: acid
spec:
  teamId: acid
  initContainers:
  - name: date
    image: *api
"""

REGRESSIONS: list[Case] = [
    # BUG 1: an image field that is an alias of a non-image value rewrites that value too (through
    # the shared node): the annotation, or even apiVersion, silently changes.  The alias itself
    # must become the new reference; the anchored value stays as written.
    Case("alias-image-anchored-in-an-annotation", ANCHOR_OUTSIDE_IMAGES.encode(),
         output=ANCHOR_OUTSIDE_IMAGES.replace("image: *img", "image: registry.intern/acme/app:1.0").encode()),
    Case("alias-image-anchored-on-apiversion", APIVERSION_ANCHOR.encode(),
         output=APIVERSION_ANCHOR.replace("image: *api", "image: registry.intern/v1").encode()),
    # BUG 3: a trailing comma in a flow list gives ",," (invalid YAML on stdout, exit 0).
    Case("pull-secret-appended-to-flow-list-with-trailing-comma",
         POD_WITH_SECRETS.replace("imagePullSecrets:\n    - name: existing\n", "imagePullSecrets: [{name: existing},]\n").encode(),
         args=("--pull-secret", "regcred"),
         output=POD_WITH_SECRETS.replace("imagePullSecrets:\n    - name: existing\n", "imagePullSecrets: [{name: existing}, {name: regcred}]\n")
         .replace("image: nginx:1.25", "image: registry.intern/library/nginx:1.25").encode()),
    # BUG 2: an anchor or tag on an existing block list: the new entries take the anchor's
    # column (invalid YAML on stdout, exit 0); an alias as the last entry: they land at the anchor.
    Case("pull-secret-appended-to-anchored-block-list",
         POD_WITH_SECRETS.replace("imagePullSecrets:\n    - name: existing", "imagePullSecrets: &ps\n    - name: existing").encode(),
         args=("--pull-secret", "regcred"),
         output=POD_WITH_SECRETS.replace("imagePullSecrets:\n    - name: existing\n", "imagePullSecrets: &ps\n    - name: existing\n    - name: regcred\n")
         .replace("image: nginx:1.25", "image: registry.intern/library/nginx:1.25").encode()),
    Case("pull-secret-appended-to-tagged-block-list",
         POD_WITH_SECRETS.replace("imagePullSecrets:\n    - name: existing", "imagePullSecrets: !!seq\n    - name: existing").encode(),
         args=("--pull-secret", "regcred"),
         output=POD_WITH_SECRETS.replace("imagePullSecrets:\n    - name: existing\n", "imagePullSecrets: !!seq\n    - name: existing\n    - name: regcred\n")
         .replace("image: nginx:1.25", "image: registry.intern/library/nginx:1.25").encode()),
    Case("pull-secret-appended-after-an-alias-entry",
         POD_WITH_SECRETS.replace("  name: p\n", "  name: p\n  labels: &sec {name: existing}\n").replace("    - name: existing\n", "    - *sec\n").encode(),
         args=("--pull-secret", "regcred"),
         output=POD_WITH_SECRETS.replace("  name: p\n", "  name: p\n  labels: &sec {name: existing}\n").replace("    - name: existing\n", "    - *sec\n    - name: regcred\n")
         .replace("image: nginx:1.25", "image: registry.intern/library/nginx:1.25").encode()),
    # Found by the fuzzer once the reported bugs were fixed: the last entry's value is an alias of a
    # list anchored earlier; the new entry went after the anchor's line instead of after the alias.
    Case("pull-secret-appended-after-an-entry-whose-value-is-an-alias",
         POD_WITH_SECRETS.replace("  imagePullSecrets:\n    - name: existing\n",
                                  "  imagePullSecrets: &a []\n  imagePullSecrets:\n    - name: *a\n").encode(),
         args=("--pull-secret", "regcred"),
         output=POD_WITH_SECRETS.replace("  imagePullSecrets:\n    - name: existing\n",
                                         "  imagePullSecrets: &a []\n  imagePullSecrets:\n    - name: *a\n    - name: regcred\n")
         .replace("image: nginx:1.25", "image: registry.intern/library/nginx:1.25").encode()),
    # BUG 8: RecursionError -> exit 3.  Go's YAML decoder rejects a node that contains itself.
    Case("list-that-contains-itself", SELF_LIST.encode(), exit=1, fragments=("document 0", "line 4")),  # the item that contains itself
    # BUG 6: exponential time in finder (an 800-byte input does not finish under a 60 s CPU limit).
    Case("billion-laughs-through-list-items", _list_bomb().encode(),
         output=_list_bomb().replace("image: nginx}", "image: registry.intern/library/nginx}").encode()),
    # BUG 9: libyaml's reader errors (control characters) are not caught -> exit 3.
    Case("control-character-in-plain-scalar", b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata: {a: b\x07c}\n",
         exit=1, fragments=("document 0", "line 5", "control character")),
    Case("nul-byte-in-second-document", b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"b\x00\"}\n",
         exit=1, fragments=("document 1", "line 7", "control character")),
    # BUG 7: quadratic regex on a "# Source:" comment line (1 MB does not finish under the CPU limit).
    Case("source-comment-with-a-megabyte-of-spaces", ("# Source: a" + " " * (1 << 20) + "b\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n").encode(),
         output=("# Source: a" + " " * (1 << 20) + "b\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n").encode()),
    # BUG 15: the not-UTF-8 message names a line but not the document.
    Case("not-utf8-names-the-document", b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {a: \"\xff\"}\n",
         exit=1, fragments=("document 1", "line 8", "not UTF-8")),
    # BUG 16: a duplicated image key is warned about in containers only, not in custom-resource image fields.
    Case("duplicate-image-key-in-custom-resource", PROMETHEUS_DUP.encode(),
         output=PROMETHEUS_DUP.replace("quay.io/prometheus/prometheus:v3.0.0", "registry.intern/prometheus/prometheus:v3.0.0").encode(),
         fragments=("warning", "line 7", "duplicate key 'image'")),
]


@pytest.mark.parametrize("case", REGRESSIONS, ids=[c.id for c in REGRESSIONS])
def test_regression(case: Case, tmp_path: Path) -> None:
    run_case(case, tmp_path)


# BUG 10: an --images-out path that cannot be written is an unexpected error (exit 3), not a clear exit 1.
@pytest.mark.parametrize("target", ["missing-dir/images.json", "a-directory"])
def test_unwritable_images_out_is_a_clear_error(tmp_path: Path, target: str) -> None:
    (tmp_path / "a-directory").mkdir()
    result = run_bounded(["--registry", REGISTRY, "--images-out", str(tmp_path / target)], POD_WITH_SECRETS.encode(), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout == b""
    assert result.stderr.decode().count("\n") == 1 and target in result.stderr.decode()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


# BUG 11: a closed stdout/stdin (sys.stdout is None) is an AttributeError -> exit 3.
@pytest.mark.parametrize("closed", ["stdin", "stdout"])
def test_closed_standard_stream_is_a_clear_error(closed: str) -> None:
    code = ("import os, sys; os.close({fd}); from postrender.cli import main; sys.exit(main(['--registry', '{reg}']))"
            .format(fd=0 if closed == "stdin" else 1, reg=REGISTRY))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVITAS_POSTRENDER_")}
    result = subprocess.run([sys.executable, "-c", code], input=POD_WITH_SECRETS.encode(), capture_output=True, env=env, timeout=60)
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert "unexpected error" not in stderr and "Traceback" not in stderr
    assert closed in stderr


# BUG 14: --log-file gets warnings but not errors (main() only reads CIVITAS_POSTRENDER_LOG).
def test_log_file_flag_gets_errors(tmp_path: Path) -> None:
    log = tmp_path / "postrender.log"
    result = run_bounded(["--registry", REGISTRY, "--log-file", str(log)], b"kind: [\n", cwd=tmp_path)
    assert result.returncode == 1
    assert log.is_file() and "invalid YAML" in log.read_text()


# BUG 5: an explicit key ("? containers") as the pod spec's first key: the new field is
# inserted after the "?" and becomes part of the key (wrong structure, exit 0).
def test_pull_secret_before_an_explicit_first_key(tmp_path: Path) -> None:
    import yaml

    text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  ? containers\n  : - name: a\n      image: nginx\n"
    result = run_bounded(["--registry", REGISTRY, "--pull-secret", "regcred"], text.encode(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout)["spec"] == {
        "imagePullSecrets": [{"name": "regcred"}],
        "containers": [{"name": "a", "image": "registry.intern/library/nginx"}],
    }


# BUG 17: SIGTERM while the image list is being written: the handler calls os._exit at once,
# so the temporary file beside --images-out is left behind (the target itself stays whole).
def test_sigterm_during_image_list_write_leaves_no_temp_file(tmp_path: Path) -> None:
    code = (
        "import os, signal, sys\n"
        "from postrender import cli, imagelist\n"
        "signal.signal(signal.SIGTERM, cli._terminate)\n"
        "real_fsync = os.fsync\n"
        "def fsync(fd):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    real_fsync(fd)\n"
        "imagelist.os.fsync = fsync\n"
        f"imagelist.write_atomically(imagelist.Path({str(tmp_path / 'images.json')!r}), '{{}}\\n')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert result.returncode == 128 + 15, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# BUG 4: a bracketed IPv6 registry passes validation, but the rewritten plain scalar starts
# with "[" (a YAML flow sequence): invalid YAML on stdout with exit 0.  Either reject such a
# registry (exit 1) or quote the new value; a second run must then change nothing.
def test_ipv6_registry_gives_valid_yaml_or_a_clear_error(tmp_path: Path) -> None:
    import yaml

    text = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: nginx\n"
    first = run_bounded(["--registry", "[fd00::1]:5000"], text, cwd=tmp_path)
    if first.returncode == 1:
        assert first.stdout == b"" and b"registry" in first.stderr
        return
    assert first.returncode == 0, first.stderr
    assert yaml.safe_load(first.stdout)["spec"]["containers"][0]["image"] == "[fd00::1]:5000/library/nginx"
    again = run_bounded(["--registry", "[fd00::1]:5000", "--strict"], first.stdout, cwd=tmp_path)
    assert (again.returncode, again.stdout) == (0, first.stdout)


# BUG 13: a null parent on the way to a nested pull-secret field (Strimzi "template:" or
# "template: {pod: }" rendered from empty values) is "not a mapping": the secrets are skipped
# with a warning, and the operand pods cannot pull from the private registry.
@pytest.mark.parametrize("template", ["", " ~", "\n    pod:", "\n    pod: null"])
def test_null_parent_of_a_nested_pull_secret_field_is_filled(tmp_path: Path, template: str) -> None:
    import yaml

    text = ("apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaConnect\nmetadata:\n  name: c\nspec:\n"
            f"  image: quay.io/strimzi/kafka:0.45.0-kafka-3.9.0\n  template:{template}\n  replicas: 1\n")
    result = run_bounded(["--registry", REGISTRY, "--pull-secret", "regcred"], text.encode(), cwd=tmp_path)
    assert result.returncode == 0 and b"warning" not in result.stderr, result.stderr
    spec = yaml.safe_load(result.stdout)["spec"]
    assert spec["template"] == {"pod": {"imagePullSecrets": [{"name": "regcred"}]}} and spec["replicas"] == 1
