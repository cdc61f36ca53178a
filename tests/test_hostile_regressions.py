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
# (An existing directory is a valid target since --images-out DIR writes one list per render.)
@pytest.mark.parametrize("target", ["missing-dir/images.json", "a-file/images.json"])
def test_unwritable_images_out_is_a_clear_error(tmp_path: Path, target: str) -> None:
    (tmp_path / "a-file").write_text("not a directory\n")
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
        "from postrender import cli, outfile\n"
        "signal.signal(signal.SIGTERM, cli._terminate)\n"
        "real_fsync = os.fsync\n"
        "def fsync(fd):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    real_fsync(fd)\n"
        "outfile.os.fsync = fsync\n"
        f"outfile.write_output({str(tmp_path / 'images.json')!r}, '{{}}\\n')\n"
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


# -- issue 11: YAML's corners -------------------------------------------------------------------
def _pod(spec: str, head: str = "") -> str:
    return f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n{head}spec:\n{spec}"


MERGE_INLINE = _pod("  containers:\n  - name: main\n    <<: {image: nginx:1.25}\n")
MERGE_ANCHORED_CONTAINER = _pod("  containers:\n  - &main\n    name: main\n    image: quay.io/acme/app:1.0\n"
                                "  - <<: *main\n    name: sidecar\n")
MERGE_LIST_EARLIER_WINS = _pod("  containers:\n  - <<: [*a, *b]\n    name: main\n",
                               "x-a: &a {image: quay.io/acme/a:1}\nx-b: &b {image: quay.io/acme/b:1, imagePullPolicy: Always}\n")
MERGE_OWN_KEY_WINS = _pod("  containers:\n  - <<: *base\n    name: main\n    image: quay.io/acme/own:2\n",
                          "x-base: &base {image: quay.io/acme/base:1}\n")
MERGE_AFTER_OWN_KEY = _pod("  containers:\n  - name: main\n    image: quay.io/acme/own:2\n    <<: {image: quay.io/acme/merged:1}\n")
MERGE_POD_SPEC = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nx-pod: &pod\n  containers:\n  - name: main\n"
                  "    image: nginx:1.25\nspec:\n  template:\n    spec:\n      <<: *pod\n      restartPolicy: Always\n")
MERGED_SECRETS = _pod("  <<: *defaults\n  containers:\n  - name: main\n    image: quay.io/acme/app:1.0\n",
                      "x-defaults: &defaults\n  imagePullSecrets:\n  - name: shared\n")
MERGED_SECRETS_FLOW = _pod("  {<<: *defaults, containers: [{name: main, image: quay.io/acme/app:1.0}]}\n",
                           "x-defaults: &defaults {imagePullSecrets: [{name: shared}]}\n").replace("spec:\n  {", "spec: {")
ALIASED_SECRETS = _pod("  volumes: &vols\n  - name: data\n    emptyDir: {}\n  imagePullSecrets: *vols\n"
                       "  containers:\n  - name: main\n    image: quay.io/acme/app:1.0\n")
ALIAS_AFTER_COMMENT = _pod("  containers:\n  - name: main\n    image: # was *img\n      *img\n",
                           "x-images:\n  main: &img quay.io/acme/app:1.0\n")
ALIAS_AFTER_COMMENTS_IN_LIST = _pod("  containers:\n  - name: main\n    image: quay.io/acme/app:1.0\n"
                                    "    args:\n    # the same as *img\n    - --sidecar-image=x  # *img\n    - *img\n",
                                    "x-images:\n  sidecar: &img --sidecar-image=quay.io/acme/sidecar:1.0\n")
POD_SECRETS = _pod("  imagePullSecrets:\n  - name: old\n  containers:\n  - name: a\n    image: nginx\n")
APP, APP_TARGET = "quay.io/acme/app:1.0", "registry.intern/acme/app:1.0"
NGINX_TARGET = "registry.intern/library/nginx:1.25"
SECRET = ("--pull-secret", "regcred")

ISSUE_11: list[Case] = [
    # 1. merge keys: what a merge brings is what Kubernetes runs; it is edited where it is written
    Case("merge-inline-image", MERGE_INLINE.encode(), output=MERGE_INLINE.replace("nginx:1.25", NGINX_TARGET).encode()),
    Case("merge-of-an-anchored-container", MERGE_ANCHORED_CONTAINER.encode(),
         output=MERGE_ANCHORED_CONTAINER.replace(APP, APP_TARGET).encode()),
    Case("merge-list-earlier-mapping-wins", MERGE_LIST_EARLIER_WINS.encode(),  # b's image is never run: left alone
         output=MERGE_LIST_EARLIER_WINS.replace("quay.io/acme/a:1", "registry.intern/acme/a:1").encode()),
    Case("merge-own-key-wins-no-duplicate-warning", MERGE_OWN_KEY_WINS.encode(),
         output=MERGE_OWN_KEY_WINS.replace("quay.io/acme/own:2", "registry.intern/acme/own:2").encode()),
    Case("merge-after-own-key-wins-as-in-go-yaml", MERGE_AFTER_OWN_KEY.encode(),
         output=MERGE_AFTER_OWN_KEY.replace("quay.io/acme/merged:1", "registry.intern/acme/merged:1").encode()),
    Case("merge-brings-the-whole-pod-spec", MERGE_POD_SPEC.encode(), args=SECRET,
         output=MERGE_POD_SPEC.replace("nginx:1.25", NGINX_TARGET)
         .replace("      <<: *pod\n", "      imagePullSecrets:\n        - name: regcred\n      <<: *pod\n").encode()),
    Case("merged-pull-secrets-kept-beside-ours", MERGED_SECRETS.encode(), args=SECRET,
         output=MERGED_SECRETS.replace(APP, APP_TARGET)
         .replace("  <<: *defaults\n", "  <<: *defaults\n  imagePullSecrets: [{name: shared}, {name: regcred}]\n").encode()),
    Case("merged-pull-secrets-kept-beside-ours-flow", MERGED_SECRETS_FLOW.encode(), args=SECRET,
         output=MERGED_SECRETS_FLOW.replace(APP, APP_TARGET)
         .replace("{<<: *defaults, ", "{<<: *defaults, imagePullSecrets: [{name: shared}, {name: regcred}], ").encode()),
    Case("merge-of-a-scalar-is-an-error", _pod("  <<: not-a-mapping\n  containers: []\n").encode(),
         exit=1, fragments=("document 0", "line 6", "merge key (<<) takes a mapping")),
    Case("merge-of-itself-is-an-error", _pod("  containers:\n  - &c\n    name: a\n    <<: *c\n").encode(),
         exit=1, fragments=("document 0", "line 7", "merge itself")),
    Case("quoted-merge-key-is-a-plain-key", _pod("  containers:\n  - name: main\n    '<<': {image: nginx:1.25}\n").encode(),
         output=_pod("  containers:\n  - name: main\n    '<<': {image: nginx:1.25}\n").encode()),
    # 4. every output parses: BOMs and line breaks YAML reads where pull secrets go
    Case("two-byte-order-marks", ("\ufeff\ufeff" + POD_SECRETS).encode(), args=SECRET,
         output=("\ufeff\ufeff" + POD_SECRETS).replace("  - name: old\n", "  - name: old\n  - name: regcred\n")
         .replace("image: nginx\n", "image: registry.intern/library/nginx\n").encode()),
    *[Case(f"pull-secret-after-{name}-line-break", POD_SECRETS.replace("  - name: old\n", f"  - name: old{brk}").encode(), args=SECRET,
           output=POD_SECRETS.replace("  - name: old\n", f"  - name: old{brk}  - name: regcred\n")
           .replace("image: nginx\n", "image: registry.intern/library/nginx\n").encode())
      for name, brk in (("lone-cr", "\r"), ("nel", "\x85"), ("u2028", "\u2028"), ("u2029", "\u2029"))],
    Case("pull-secret-in-cr-only-document", POD_SECRETS.replace("\n", "\r").encode(), args=SECRET,
         output=POD_SECRETS.replace("  - name: old\n", "  - name: old\n  - name: regcred\n")
         .replace("image: nginx\n", "image: registry.intern/library/nginx\n").replace("\n", "\r").encode()),
    Case("pull-secret-into-flow-list-with-comment", POD_SECRETS.replace("  imagePullSecrets:\n  - name: old\n",
                                                                        "  imagePullSecrets: [{name: old} # ours too\n  ]\n").encode(),
         args=SECRET, output=POD_SECRETS.replace("  imagePullSecrets:\n  - name: old\n", "  imagePullSecrets: [{name: old}, {name: regcred} # ours too\n  ]\n")
         .replace("image: nginx\n", "image: registry.intern/library/nginx\n").encode()),
    Case("pull-secret-into-flow-list-with-comment-after-comma",
         POD_SECRETS.replace("  imagePullSecrets:\n  - name: old\n", "  imagePullSecrets: [{name: old}, # ours too\n  ]\n").encode(),
         args=SECRET, output=POD_SECRETS.replace("  imagePullSecrets:\n  - name: old\n", "  imagePullSecrets: [{name: old}, {name: regcred}, # ours too\n  ]\n")
         .replace("image: nginx\n", "image: registry.intern/library/nginx\n").encode()),
    Case("pull-secret-into-empty-flow-list-with-comment",
         POD_SECRETS.replace("  imagePullSecrets:\n  - name: old\n", "  imagePullSecrets: [ # none yet\n  ]\n").encode(),
         args=SECRET, output=POD_SECRETS.replace("  imagePullSecrets:\n  - name: old\n", "  imagePullSecrets: [{name: regcred} # none yet\n  ]\n")
         .replace("image: nginx\n", "image: registry.intern/library/nginx\n").encode()),
    # 5. duplicate keys: the last kind is the one Kubernetes reads, however it is written
    *[Case(f"last-kind-written-{name}", _pod("  containers:\n  - name: a\n    image: nginx:1.25\n").replace("kind: Pod\n", f"kind: Service\n{later}").encode(),
           output=_pod("  containers:\n  - name: a\n    image: nginx:1.25\n").replace("kind: Pod\n", f"kind: Service\n{later}").replace("nginx:1.25", NGINX_TARGET).encode())
      for name, later in (("quoted", '"kind": Pod\n'), ("with-comment", "kind: Pod # the real one\n"), ("with-space", "kind : Pod\n"),
                          ("explicit", "? kind\n: Pod\n"), ("after-nel", "metadata: {name: p}\x85kind: Pod\n"),
                          ("by-merge", "<<: {kind: Pod}\n"))],
    Case("last-kind-in-a-document-after-a-lone-cr-separator",
         ("apiVersion: v1\nkind: Service\nmetadata: {name: s}\r---\rapiVersion: v1\rkind: Pod\rmetadata: {name: p}\r"
          "spec: {containers: [{name: a, image: nginx:1.25}]}\n").encode(),
         output=("apiVersion: v1\nkind: Service\nmetadata: {name: s}\r---\rapiVersion: v1\rkind: Pod\rmetadata: {name: p}\r"
                 f"spec: {{containers: [{{name: a, image: {NGINX_TARGET}}}]}}\n").encode()),
    Case("undefined-alias-in-a-kind-that-holds-no-image",
         b"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: *nowhere}\n", exit=1,
         fragments=("document 0", "line 4", "undefined alias")),
    Case("undefined-alias-as-a-key-in-a-kind-that-holds-no-image",
         b"apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  *nowhere: x\n", exit=1,
         fragments=("document 0", "line 5", "undefined alias")),
    # 7. aliases next to comments that name them; an aliased pull-secret list
    Case("alias-after-a-comment-naming-it", ALIAS_AFTER_COMMENT.encode(),
         output=ALIAS_AFTER_COMMENT.replace("      *img\n", f"      {APP_TARGET}\n").encode()),
    Case("alias-after-comments-in-an-args-list", ALIAS_AFTER_COMMENTS_IN_LIST.encode(),
         output=ALIAS_AFTER_COMMENTS_IN_LIST.replace(APP, APP_TARGET)
         .replace("    - *img\n", '    - "--sidecar-image=registry.intern/acme/sidecar:1.0"\n').encode()),
    Case("aliased-pull-secret-list-becomes-its-own", ALIASED_SECRETS.encode(), args=SECRET,
         output=ALIASED_SECRETS.replace(APP, APP_TARGET)
         .replace("imagePullSecrets: *vols", "imagePullSecrets: [{name: data, emptyDir: {}}, {name: regcred}]").encode()),
    Case("aliased-empty-pull-secret-list", _pod("  imagePullSecrets: *none\n  containers: []\n", "x-none: &none []\n").encode(), args=SECRET,
         output=_pod("  imagePullSecrets: [{name: regcred}]\n  containers: []\n", "x-none: &none []\n").encode()),
    # 11. globs match in linear time
    Case("exclude-glob-that-backtracks", _pod("  containers:\n  - name: a\n    image: quay.io/" + "a" * 200 + "c:1\n").encode(),
         args=("--exclude", "**a*a*a*a*a*a*a*a*a*a*b"), fragments=("warning", "matched no image"),
         output=_pod("  containers:\n  - name: a\n    image: registry.intern/" + "a" * 200 + "c:1\n").encode()),
    Case("exclude-glob-that-backtracks-and-matches", _pod("  containers:\n  - name: a\n    image: quay.io/" + "a" * 200 + "b:1\n").encode(),
         args=("--exclude", "**a*a*a*a*a*a*a*a*a*a*b"),
         output=_pod("  containers:\n  - name: a\n    image: quay.io/" + "a" * 200 + "b:1\n").encode()),
]


@pytest.mark.parametrize("case", ISSUE_11, ids=[c.id for c in ISSUE_11])
def test_issue_11(case: Case, tmp_path: Path) -> None:
    run_case(case, tmp_path)
    if case.exit == 0:  # a second run changes nothing
        again = run_bounded(["--registry", REGISTRY, *case.args], case.output or b"", cwd=tmp_path)
        assert (again.returncode, again.stdout) == (0, case.output), again.stderr


def test_issue_11_case_ids_are_unique() -> None:
    assert len({c.id for c in ISSUE_11 + REGRESSIONS}) == len(ISSUE_11) + len(REGRESSIONS)


@pytest.mark.parametrize("stream", [MERGE_INLINE, MERGE_ANCHORED_CONTAINER, MERGE_POD_SPEC])
def test_check_sees_images_brought_by_merge_keys(stream: str, tmp_path: Path) -> None:
    result = run_bounded(["check", "--registry", REGISTRY], stream.encode(), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert b"is not served by registry.intern" in result.stdout + result.stderr


@pytest.mark.parametrize("line_break", ["\r", "\u0085", "\u2028", "\u2029"])
def test_a_comment_after_the_marker_ended_by_an_exotic_line_break_is_not_an_empty_document(line_break: str) -> None:
    """``--- # comment<CR>{...}``: YAML ends the comment at the CR (NEL, LS, PS); the document after
    it was taken for a comment-only piece and skipped, leaving its image public (found by hypothesis)."""
    from postrender.testing import render

    stream = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n--- # separator" + line_break +
              '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}\n')
    assert "registry.intern/library/nginx" in render(stream, registry="registry.intern").output
