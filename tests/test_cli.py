"""The Helm contract of post-render mode: stdin -> stdout, exit codes, nothing half-written."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from conftest import FIXTURES, cannot_hold_images, run_cli, without_summary

DEPLOYMENT = """\
---
# Source: app/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  template:
    spec:
      containers:
        - name: web
          image: "nginx:1.27"
"""
FLAGS = ["--registry", "registry.intern", "--folder", "civitas"]


def test_rewrites_and_exits_zero() -> None:
    result = run_cli([*FLAGS, "--pull-secret", "regcred"], DEPLOYMENT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == DEPLOYMENT.replace(
        '      containers:\n', '      imagePullSecrets:\n        - name: regcred\n      containers:\n'
    ).replace('"nginx:1.27"', '"registry.intern/civitas/library/nginx:1.27"')
    assert without_summary(result.stderr) == ""


def test_missing_registry_fails_with_nothing_on_stdout() -> None:
    result = run_cli([], DEPLOYMENT)
    assert result.returncode == 1
    assert result.stdout == b""
    assert b"no registry given" in result.stderr and b"CIVITAS_POSTRENDER_REGISTRY" in result.stderr


@pytest.mark.parametrize("registry", ["https://registry.intern", "/civitas", "registry", "bad_host!", "-x.example", "registry.intern:0"])
def test_invalid_registry(registry: str) -> None:
    result = run_cli(["--registry", registry], DEPLOYMENT)
    assert result.returncode == 1 and result.stdout == b""
    assert registry.encode() in result.stderr


@pytest.mark.parametrize(("flag", "value"), [("--folder", "Bad Folder"), ("--folder", "a//b"), ("--pull-secret", "Reg_Cred")])
def test_invalid_settings(flag: str, value: str) -> None:
    result = run_cli(["--registry", "registry.intern", flag, value], DEPLOYMENT)
    assert result.returncode == 1 and result.stdout == b""
    assert value.encode() in result.stderr


def test_unknown_option_is_a_config_error() -> None:
    result = run_cli(["--registry", "registry.intern", "--no-such-option"], DEPLOYMENT)
    assert result.returncode == 1 and result.stdout == b""
    assert b"--no-such-option" in result.stderr


def test_invalid_yaml_names_document_template_and_line() -> None:
    broken = DEPLOYMENT + "---\n# Source: app/templates/broken.yaml\napiVersion: v1\nkind: ConfigMap\ndata: [unclosed\n"
    result = run_cli(FLAGS, broken)
    assert result.returncode == 1 and result.stdout == b""
    message = result.stderr.decode()
    assert "document 1" in message and "app/templates/broken.yaml" in message and "line 19" in message
    assert message.count("\n") == 1  # one line per problem


@pytest.mark.parametrize(("body", "what"), [("- a\n- b\n", "a list"), ("just text\n", "a scalar")])
def test_document_that_is_not_a_mapping(body: str, what: str) -> None:
    result = run_cli(FLAGS, DEPLOYMENT + "---\n# Source: app/templates/odd.yaml\n" + body)
    assert result.returncode == 1 and result.stdout == b""
    assert f"document 1 (app/templates/odd.yaml) line 16 column 1: the document is {what}".encode() in result.stderr


def test_document_without_kind() -> None:
    result = run_cli(FLAGS, "apiVersion: v1\nmetadata:\n  name: x\n")
    assert result.returncode == 1 and result.stdout == b""
    assert b"document 0" in result.stderr and b"no 'kind'" in result.stderr


def test_collision_names_both_sources_and_where() -> None:
    stream = DEPLOYMENT.replace('"nginx:1.27"', "quay.io/prometheus/node-exporter:v1.8.0") + (
        "---\n# Source: app/templates/ds.yaml\napiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: ne\n"
        "spec:\n  template:\n    spec:\n      containers:\n      - name: ne\n        image: prom/node-exporter:v1.8.0\n"
    ).replace("prom/", "docker.io/prometheus/")
    result = run_cli(FLAGS, stream)
    assert result.returncode == 1 and result.stdout == b""
    message = result.stderr.decode()
    assert "collision" in message
    assert "quay.io/prometheus/node-exporter:v1.8.0" in message and "docker.io/prometheus/node-exporter:v1.8.0" in message
    assert "Deployment/web" in message and "DaemonSet/ne" in message
    assert "registry.intern/civitas/prometheus/node-exporter:v1.8.0" in message


@pytest.mark.parametrize("stdin", [b"", b"\n\n", b"  \n"])
def test_empty_input_gives_one_comment_line(stdin: bytes) -> None:
    result = run_cli(FLAGS, stdin)
    assert result.returncode == 0
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("#")


def test_comment_only_input_passes_through() -> None:
    result = run_cli(FLAGS, "---\n# Source: app/templates/empty.yaml\n")
    assert result.returncode == 0 and result.stdout == b"---\n# Source: app/templates/empty.yaml\n"


def test_environment_settings() -> None:
    env = {"CIVITAS_POSTRENDER_REGISTRY": "registry.intern", "CIVITAS_POSTRENDER_FOLDER": "envfolder",
           "CIVITAS_POSTRENDER_PULL_SECRETS": "one, two"}
    result = run_cli([], DEPLOYMENT, env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "registry.intern/envfolder/library/nginx:1.27" in out
    assert "- name: one\n        - name: two\n" in out


def test_flag_beats_environment_beats_config_file(tmp_path: Path) -> None:
    config = tmp_path / "postrender.yaml"
    config.write_text("registry: file.example\nfolder: filefolder\npullSecrets: [fromfile]\n")
    env = {"CIVITAS_POSTRENDER_CONFIG": str(config), "CIVITAS_POSTRENDER_FOLDER": "envfolder"}
    out = run_cli(["--registry", "flag.example"], DEPLOYMENT, env=env).stdout.decode()
    assert "flag.example/envfolder/library/nginx:1.27" in out and "- name: fromfile" in out
    out = run_cli([], DEPLOYMENT, env=env).stdout.decode()
    assert "file.example/envfolder/library/nginx:1.27" in out
    out = run_cli(["--config", str(config)], DEPLOYMENT).stdout.decode()
    assert "file.example/filefolder/library/nginx:1.27" in out


@pytest.mark.parametrize(
    ("content", "fragment"),
    [("registry: [a, b]\n", "expected a string"), ("registrie: x\n", "unknown setting(s) registrie"),
     ("registry: x.example\n  bad: indent\n", "invalid YAML"), ("- a\n", "expected a mapping")],
)
def test_bad_config_file(tmp_path: Path, content: str, fragment: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(content)
    result = run_cli(["--config", str(config)], DEPLOYMENT)
    assert result.returncode == 1 and result.stdout == b""
    assert fragment.encode() in result.stderr and str(config).encode() in result.stderr


def test_missing_config_file(tmp_path: Path) -> None:
    result = run_cli(["--config", str(tmp_path / "absent.yaml")], DEPLOYMENT)
    assert result.returncode == 1 and b"cannot read it" in result.stderr


def test_bad_boolean_in_environment() -> None:
    result = run_cli(FLAGS, DEPLOYMENT, env={"CIVITAS_POSTRENDER_STRICT": "maybe"})
    assert result.returncode == 1 and b"CIVITAS_POSTRENDER_STRICT" in result.stderr


def test_images_out(tmp_path: Path) -> None:
    target = tmp_path / "images.json"
    result = run_cli([*FLAGS, "--images-out", str(target)], DEPLOYMENT)
    assert result.returncode == 0
    data = json.loads(target.read_text())
    assert data["registry"] == "registry.intern" and data["folder"] == "civitas"
    [image] = data["images"]
    assert image["source"] == "docker.io/library/nginx:1.27"
    assert image["target"] == "registry.intern/civitas/library/nginx:1.27"
    assert (image["registry"], image["repository"], image["tag"], image["digest"]) == ("docker.io", "library/nginx", "1.27", None)
    assert image["rule"] == "kubernetes/workload"
    assert image["occurrences"] == [{
        "document": 0, "kind": "Deployment", "name": "web", "namespace": "apps",
        "path": "spec.template.spec.containers[0].image", "template": "app/templates/deployment.yaml",
        "rule": "kubernetes/workload", "location": "container",
    }]
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind


def test_images_out_not_written_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "images.json"
    result = run_cli([*FLAGS, "--images-out", str(target)], DEPLOYMENT + "---\n- not a mapping\n")
    assert result.returncode == 1 and not target.exists()


def test_not_a_reference_warns_and_strict_fails() -> None:
    stream = DEPLOYMENT.replace('"nginx:1.27"', '"$(params.IMAGE)"')
    result = run_cli(FLAGS, stream)
    assert result.returncode == 0 and result.stdout.decode() == stream
    assert b"document 0 (app/templates/deployment.yaml) Deployment/web line 13 column 18 at spec.template.spec.containers[0].image" in result.stderr
    strict = run_cli([*FLAGS, "--strict"], stream)
    assert strict.returncode == 1 and strict.stdout == b"" and b"strict:" in strict.stderr


def test_exclude_leaves_image_untouched() -> None:
    result = run_cli([*FLAGS, "--exclude", "docker.io/library/nginx"], DEPLOYMENT)
    assert result.returncode == 0 and result.stdout.decode() == DEPLOYMENT


def test_second_run_changes_nothing() -> None:
    first = run_cli([*FLAGS, "--pull-secret", "regcred"], DEPLOYMENT).stdout
    second = run_cli([*FLAGS, "--pull-secret", "regcred"], first)
    assert second.returncode == 0 and second.stdout == first


def test_log_file_gets_warnings(tmp_path: Path) -> None:
    log = tmp_path / "postrender.log"
    stream = DEPLOYMENT.replace('"nginx:1.27"', '"ko://example.com/cmd/app"')
    result = run_cli(FLAGS, stream, env={"CIVITAS_POSTRENDER_LOG": str(log)})
    assert result.returncode == 0
    assert "ko://example.com/cmd/app" in log.read_text()


def test_bug_exits_3_without_traceback(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import sys

    from postrender import cli
    from postrender.commands import postrender as command

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(command, "post_render", broken)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(DEPLOYMENT.encode())))
    assert cli.main(FLAGS) == 3
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "an unexpected error has occurred: RuntimeError: boom" in captured.err and "Traceback" not in captured.err


def test_fixture_stream_runs_from_another_directory(tmp_path: Path) -> None:
    stream = (FIXTURES / "civitas-analytics.yaml").read_bytes()
    result = run_cli([*FLAGS, "--pull-secret", "regcred"], stream, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(b"registry.intern/civitas/") == 9


@pytest.mark.parametrize(
    ("body", "fragment"),
    [("  ports: [80\n", "line 22 column 1"),  # a Service is only validated, never matched: its errors count the same
     ("  selector: {app: \"a\x07\"}\n", "line 21")],
)
def test_errors_in_documents_that_cannot_hold_images(body: str, fragment: str) -> None:
    service = ("---\n# Source: app/templates/service.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
               "spec:\n")
    result = run_cli(FLAGS, DEPLOYMENT + service + body)
    assert result.returncode == 1 and result.stdout == b""
    message = result.stderr.decode()
    assert "document 1" in message and fragment in message and message.count("\n") == 1


def test_documents_that_cannot_hold_images_pass_through_unparsed_but_intact() -> None:
    from postrender.rules import load_rules

    rules = load_rules()
    service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports: [{port: 80}]\n"
    assert cannot_hold_images(service, rules)
    assert not cannot_hold_images(service.replace("Service", "Pod"), rules)  # a rule looks into Pods
    assert not cannot_hold_images(service.replace("Service", "Gateway"), rules)  # no rule: candidates
    assert not cannot_hold_images(service + "kind: Pod\n", rules)  # two kinds: parse it
    assert not cannot_hold_images('{"apiVersion": "v1", "kind": "Service"}', rules)  # not plain lines: parse it
    crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec: {}\n"
    assert cannot_hold_images(crd, rules) and not cannot_hold_images(crd + "# default: quay.io/a/b:1\n", rules)
    stream = DEPLOYMENT + "---\n" + service
    result = run_cli(FLAGS, stream)
    assert result.returncode == 0 and result.stdout.decode().endswith("---\n" + service)


# --- command-line conventions -------------------------------------------------------------------

@pytest.mark.parametrize(("args", "env"), [
    (["--registry", "registry.intern/civitas"], {}),
    (["--registry", "registry.intern/civitas/", "--folder", "civitas"], {}),  # agreeing is fine
    ([], {"CIVITAS_POSTRENDER_REGISTRY": "registry.intern/civitas"}),  # an inventory's registry_full_url
    (["--registry", "registry.intern/civitas"], {"CIVITAS_POSTRENDER_FOLDER": "civitas"}),
])
def test_registry_with_a_path_is_registry_and_folder(args: list[str], env: dict[str, str]) -> None:
    result = run_cli(args, DEPLOYMENT, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == run_cli(FLAGS, DEPLOYMENT).stdout and b"registry.intern/civitas/library/nginx:1.27" in result.stdout


def test_registry_path_contradicting_the_folder_is_refused() -> None:
    result = run_cli(["--registry", "registry.intern/civitas", "--folder", "other"], DEPLOYMENT)
    assert result.returncode == 1 and result.stdout == b""
    assert b"names the folder 'civitas', but the folder is set to 'other'" in result.stderr


def _image_map(*args: str) -> str:
    result = run_cli([*args], DEPLOYMENT)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


@pytest.mark.parametrize("args", [
    ["--registry", "registry.intern", "--folder", "civitas", "images", "--format", "map", "-"],
    ["--registry", "registry.intern", "images", "--folder", "civitas", "--format", "map", "-"],
    ["--folder", "civitas", "images", "--registry", "registry.intern", "--format", "map", "-"],  # the folder is not dropped
    ["--registry", "registry.intern", "--folder", "civitas", "images", "--registry", "registry.intern", "--format", "map", "-"],
])
def test_shared_options_before_a_subcommand_apply_to_it(args: list[str]) -> None:
    assert _image_map(*args) == "docker.io/library/nginx:1.27 registry.intern/civitas/library/nginx:1.27\n"


@pytest.mark.parametrize(("args", "fragment"), [
    (["--pull-secret", "regcred", "images", "-"], b"--pull-secret given before 'images', which does not take it"),
    (["--images-out", "x.json", "values", "-"], b"--images-out given before 'values', which does not take it"),
    (["--exclude", "busybox", "secret", "-n", "apps"], b"--exclude given before 'secret', which does not take it"),
    (["--registry", "a.intern", "images", "--registry", "b.intern", "-"], b"--registry is given before 'images' (a.intern) and after it (b.intern)"),
])
def test_shared_options_before_a_subcommand_are_refused_when_they_cannot_apply(args: list[str], fragment: bytes) -> None:
    result = run_cli(args, DEPLOYMENT)
    assert result.returncode == 1 and result.stdout == b""
    assert fragment in result.stderr


def test_log_file_before_helm_plugin_is_baked_in(tmp_path: Path) -> None:
    log = tmp_path / "postrender.log"
    result = run_cli(["--log-file", str(log), "helm-plugin", str(tmp_path / "plugin")])
    assert result.returncode == 0, result.stderr
    assert str(log) in (tmp_path / "plugin" / "launch.sh").read_text()


@pytest.mark.parametrize(("command", "shown", "hidden"), [
    ("secret", ["--registry", "--pull-secret", "--config", "--log-file"], ["--folder", "--exclude", "--strict", "--rules", "--rewrite-candidates", "--images-out"]),
    ("images", ["--registry", "--folder", "--exclude", "--rules", "--strict", "--rewrite-candidates"], ["--pull-secret", "--images-out"]),
    ("values", ["--registry", "--folder", "--pull-secret", "--exclude", "--strict"], ["--rules", "--rewrite-candidates", "--images-out"]),
    ("check", ["--registry", "--folder", "--pull-secret", "--exclude", "--rules", "--strict", "--output"], ["--images-out"]),
])
def test_subcommand_help_lists_only_the_options_it_uses(command: str, shown: list[str], hidden: list[str]) -> None:
    result = run_cli([command, "--help"])
    assert result.returncode == 0
    flags = set(re.findall(r"^\s+(?:-\w, )?(--[\w-]+)", result.stdout.decode(), re.M))
    assert set(shown) <= flags and not set(hidden) & flags, flags


def test_post_render_reads_file_arguments(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(DEPLOYMENT.rstrip("\n"))  # no final newline: the next file still starts a document
    second.write_text(DEPLOYMENT.replace("name: web", "name: api").removeprefix("---\n"))
    from_files = run_cli([*FLAGS, str(first), str(second)])
    assert from_files.returncode == 0, from_files.stderr
    joined = DEPLOYMENT + "---\n" + DEPLOYMENT.replace("name: web", "name: api").removeprefix("---\n")
    assert from_files.stdout == run_cli(FLAGS, joined).stdout
    dash = run_cli([*FLAGS, "-"], DEPLOYMENT)
    assert dash.returncode == 0 and dash.stdout == run_cli(FLAGS, DEPLOYMENT).stdout


@pytest.mark.parametrize(("args", "fragment"), [
    (["missing.yaml"], b"cannot read missing.yaml"),
    (["./missing"], b"cannot read ./missing"),
    ([str(FIXTURES / "crlf.yaml"), "--folder", "x"], b"--folder comes after a FILE argument"),
    (["imagse"], b"No such command 'imagse'"),
])
def test_post_render_file_argument_errors(args: list[str], fragment: bytes) -> None:
    result = run_cli(["--registry", "registry.intern", *args], DEPLOYMENT)
    assert result.returncode == 1 and result.stdout == b""
    assert fragment in result.stderr


def test_a_terminal_on_stdin_gets_usage_instead_of_a_wait() -> None:
    import pty
    import subprocess

    from conftest import CLI, cli_env

    controller, terminal = pty.openpty()
    try:
        result = subprocess.run([*CLI, *FLAGS], stdin=terminal, capture_output=True, env=cli_env(), timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    assert result.returncode == 1 and result.stdout == b""
    assert b"stdin is a terminal" in result.stderr and b"rendered.yaml" in result.stderr


@pytest.mark.parametrize("pattern", ["nginx", "nginx:1.27", "library/*", "docker.io/library/nginx", "registry-1.docker.io/library/nginx", "*/*/nginx*"])
def test_exclude_short_forms_are_normalised(pattern: str) -> None:
    result = run_cli([*FLAGS, "--exclude", pattern], DEPLOYMENT)
    assert result.returncode == 0 and result.stdout.decode() == DEPLOYMENT
    assert without_summary(result.stderr) == ""


@pytest.mark.parametrize(("pattern", "compared"), [("busybox", "docker.io/library/busybox"), ("bitnami/*", "docker.io/bitnami/*"), ("nginx:1.25", "docker.io/library/nginx:1.25")])
def test_exclude_matching_nothing_warns(pattern: str, compared: str) -> None:
    result = run_cli([*FLAGS, "--exclude", pattern], DEPLOYMENT)
    assert result.returncode == 0 and b"registry.intern/civitas/library/nginx:1.27" in result.stdout
    assert without_summary(result.stderr) == f"civitas-postrender: warning: --exclude {pattern!r} matched no image (compared as {compared!r} with names such as docker.io/library/busybox:1.36)\n"


@pytest.mark.parametrize("name", ["json", "harbor", "text"])
def test_images_output_named_like_a_format_is_refused(tmp_path: Path, name: str) -> None:
    result = run_cli(["images", "-o", name, "-"], DEPLOYMENT, cwd=tmp_path)
    assert result.returncode == 1 and not (tmp_path / name).exists()
    assert f"--format {name}".encode() in result.stderr and f"-o ./{name}".encode() in result.stderr
    explicit = run_cli(["images", "-o", f"./{name}", "-"], DEPLOYMENT, cwd=tmp_path)
    assert explicit.returncode == 0 and (tmp_path / name).read_text() == "docker.io/library/nginx:1.27\n"


def test_images_warns_once_for_an_exclude_that_matched_nothing_in_any_input(tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(DEPLOYMENT.replace("nginx:1.27", "busybox:1.36").replace("name: web", "name: tools"))
    result = run_cli(["images", "--exclude", "busybox", "--exclude", "typo/*", str(other), "-"], DEPLOYMENT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == "docker.io/library/nginx:1.27\n"  # busybox matched in one input only: no warning for it
    warnings = [line for line in result.stderr.decode().splitlines() if "matched no image" in line]
    assert warnings == ["civitas-postrender: warning: --exclude 'typo/*' matched no image (compared as "
                        "'docker.io/typo/*' with names such as docker.io/library/busybox:1.36)"]
