"""The Helm 4 plugin: its plugin.yaml as Helm 4 validates it, and the launcher run the way Helm runs it.

No Helm binary here, so the contract is re-stated from helm/helm's source and tested directly:

- internal/plugin/loader.go (10e993a5): an ``apiVersion: v1`` plugin.yaml is decoded with
  ``KnownFields(true)`` into ``MetadataV1`` (internal/plugin/metadata_v1.go, 36c8539e), then
  ``MetadataV1.Validate``: name ``^[A-Za-z0-9_-]+$`` (internal/plugin/plugin.go), strict SemVer
  version (Masterminds ``StrictNewVersion``), apiVersion ``v1``, type and runtime present.
- internal/plugin/config.go (``unmarshalConfig``): ``config`` is decoded strictly into the type's
  config struct, which is empty for ``postrenderer/v1``; the type must be in
  internal/plugin/plugin_type_registry.go.
- internal/plugin/subprocess_commands.go: ``getPlatformCommand`` (exact os+arch, then os, then
  neither; the command split on spaces) and ``PrepareCommands`` (``os.Expand`` with Helm's env
  map, then ``--post-renderer-args`` appended).
- internal/plugin/runtime_subprocess.go (0151d855) ``runPostrenderer``: env = os env plus
  HELM_PLUGIN_NAME and HELM_PLUGIN_DIR; manifests on stdin; stdout captured; stderr captured
  and never shown ("plugin ... exited with error").  pkg/postrenderer/postrenderer.go
  (228f688b): empty output is an error.
"""
from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import FIXTURES, ROOT, run_cli
from postrender.commands.helm_plugin import (LAUNCHER, Target, installed_plugins, launcher_script, plugin_directories,
                                            plugin_version, plugin_yaml)
from postrender.commands.check import Outcome, check_stream
from postrender.pipeline import collect
from postrender.plan import is_private
from postrender.reference import parse_reference
from postrender.report import escape
from postrender.rules import load_rules
from postrender.settings import Settings

FILENAME_ANNOTATION = "postrenderer.helm.sh/postrender-filename"
REGISTRY, FOLDER = "registry.intern", "civitas"

# --- Helm 4's validation of an apiVersion v1 plugin.yaml, restated ---------------------------------
METADATA_V1_FIELDS = {"apiVersion", "name", "type", "runtime", "version", "sourceURL", "config", "runtimeConfig"}
PLUGIN_TYPES = {"test/v1", "cli/v1", "getter/v1", "postrenderer/v1"}
RUNTIMES = {"subprocess", "extism/v1"}
SUBPROCESS_FIELDS = {"platformCommand", "platformHooks", "protocolCommands"}
PLATFORM_COMMAND_FIELDS = {"os", "arch", "command", "args"}
STRICT_SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                           r"(-(0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*)?"
                           r"(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?\Z")


def helm4_problems(text: str) -> list[str]:
    data = yaml.safe_load(text)
    problems = [f"field {k} not found in type plugin.MetadataV1" for k in sorted(set(data) - METADATA_V1_FIELDS)]
    if not re.fullmatch(r"[A-Za-z0-9_-]+", str(data.get("name", ""))):
        problems.append("invalid plugin `name`")
    if not STRICT_SEMVER.match(str(data.get("version", ""))):
        problems.append("invalid plugin `version`: must be valid semver")
    if data.get("apiVersion") != "v1":
        problems.append("invalid `apiVersion`")
    if data.get("type") not in PLUGIN_TYPES:
        problems.append("unknown plugin type")
    if data.get("runtime") not in RUNTIMES:
        problems.append("unsupported plugin runtime type")
    if data.get("type") == "postrenderer/v1" and data.get("config"):
        problems.append("config: postrenderer/v1 has no config fields")
    runtime = data.get("runtimeConfig") or {}
    problems += [f"runtimeConfig: unknown {k}" for k in sorted(set(runtime) - SUBPROCESS_FIELDS)]
    for entry in runtime.get("platformCommand") or []:
        problems += [f"platformCommand: unknown {k}" for k in sorted(set(entry) - PLATFORM_COMMAND_FIELDS)]
    return problems


def helm4_command(plugin_dir: Path, extra_args: list[str], goos: str = "linux", goarch: str = "amd64") -> tuple[list[str], dict[str, str]]:
    """What runPostrenderer executes: getPlatformCommand + PrepareCommands, and the env it builds."""
    meta = yaml.safe_load((plugin_dir / "plugin.yaml").read_text())
    chosen = None
    for entry in meta["runtimeConfig"]["platformCommand"]:
        os_, arch = entry.get("os", ""), entry.get("arch", "")
        if os_.lower() == goos and arch.lower() == goarch:
            chosen = entry
            break
        if (os_ and os_.lower() != goos) or arch:
            continue
        if chosen is None or (os_ and not chosen.get("os")):
            chosen = entry
    assert chosen is not None, "no plugin command is applicable"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVITAS_POSTRENDER_")}
    env.update(HELM_PLUGIN_NAME=meta["name"], HELM_PLUGIN_DIR=str(plugin_dir))

    def expand(text: str) -> str:  # Go's os.Expand: ${VAR} and $VAR, unknown -> ""
        return re.sub(r"\$\{([^}]*)\}|\$([A-Za-z0-9_]+)", lambda m: env.get(m.group(1) or m.group(2), ""), text)

    parts = chosen["command"].split(" ")
    return [expand(parts[0]), *(expand(p) for p in parts[1:]), *(expand(a) for a in chosen.get("args") or []), *extra_args], env


def run_like_helm4(plugin_dir: Path, stdin: bytes, extra_args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    argv, helm_env = helm4_command(plugin_dir, extra_args)
    helm_env.update(env or {})
    return subprocess.run(argv, input=stdin, capture_output=True, env=helm_env, timeout=120)


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Path:
    """The plugin as a user gets it: `civitas-postrender helm-plugin DIR` run by the installed tool."""
    directory = tmp_path / "civitas-postrender"
    result = run_cli(["helm-plugin", str(directory)])
    assert result.returncode == 0, result.stderr
    return directory


# --- plugin.yaml ---------------------------------------------------------------------------------------
def test_generated_plugin_yaml_passes_helm4_validation(plugin_dir: Path) -> None:
    text = (plugin_dir / "plugin.yaml").read_text()
    assert helm4_problems(text) == []
    data = yaml.safe_load(text)
    assert data["type"] == "postrenderer/v1" and data["runtime"] == "subprocess" and data["apiVersion"] == "v1"
    assert "config" not in data  # nothing may go there for postrenderer/v1
    assert data["runtimeConfig"]["platformCommand"] == [{"command": "${HELM_PLUGIN_DIR}/" + LAUNCHER}]


def test_shipped_plugin_directory_is_what_the_generator_writes() -> None:
    shipped = ROOT / "helm-plugin"
    assert (shipped / "plugin.yaml").read_text() == plugin_yaml()
    assert (shipped / LAUNCHER).read_text() == launcher_script(Target())
    assert helm4_problems((shipped / "plugin.yaml").read_text()) == []
    assert (shipped / LAUNCHER).stat().st_mode & stat.S_IXUSR


@pytest.mark.parametrize("broken, problem", [
    ("config:\n  registry: registry.intern\n", "config: postrenderer/v1 has no config fields"),
    ("command: launch.sh\n", "field command not found in type plugin.MetadataV1"),
])
def test_the_validator_rejects_what_helm_rejects(broken: str, problem: str) -> None:
    assert problem in helm4_problems(plugin_yaml() + broken)


@pytest.mark.parametrize("name", ["civitas postrender", "civitas/postrender", ""])
def test_invalid_plugin_names_are_refused(name: str) -> None:
    result = run_cli(["helm-plugin", "--name", name, "/nonexistent/dir"])
    assert result.returncode == 1 and b"may contain only" in result.stderr


@pytest.mark.parametrize("version, semver", [
    ("0.1.0", "0.1.0"), ("0.2.0.dev3", "0.2.0-dev3"), ("1.0.0rc1", "1.0.0-rc1"), ("1.2", "1.2.0"),
    ("1.0.0+local.7", "1.0.0+local.7"), ("2.0.0.post1+g1234", "2.0.0-post1+g1234"),
])
def test_plugin_version_is_strict_semver(version: str, semver: str) -> None:
    assert plugin_version(version) == semver
    assert helm4_problems(plugin_yaml(version=plugin_version(version))) == []


def test_existing_plugin_is_not_overwritten_without_force(plugin_dir: Path) -> None:
    again = run_cli(["helm-plugin", str(plugin_dir)])
    assert again.returncode == 1 and b"--force" in again.stderr
    assert run_cli(["helm-plugin", "--force", str(plugin_dir)]).returncode == 0


@pytest.mark.parametrize("env, expected", [
    ({"HELM_PLUGINS": f"/a{os.pathsep}/b", "HELM_DATA_HOME": "/d"}, ["/a", "/b"]),
    ({"HELM_DATA_HOME": "/d", "XDG_DATA_HOME": "/x"}, ["/d/plugins"]),
    ({"XDG_DATA_HOME": "/x", "HOME": "/h"}, ["/x/helm/plugins"]),
    ({"HOME": "/h"}, ["/h/Library/helm/plugins" if sys.platform == "darwin" else "/h/.local/share/helm/plugins"]),
])
def test_plugin_directories_are_where_helm_looks(env: dict[str, str], expected: list[str]) -> None:
    assert plugin_directories(env) == [Path(p) for p in expected]


def _install(plugins: Path, entry: str, name: str) -> Path:
    """A plugin as ``helm plugin install`` leaves it: a directory (or a link) holding plugin.yaml."""
    directory = plugins / entry
    directory.mkdir(parents=True)
    (directory / "plugin.yaml").write_text(plugin_yaml(name))
    return directory


def test_installed_plugins_are_found_by_name_not_by_directory(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    mine = _install(plugins, "helm-plugin", "civitas-postrender")
    _install(plugins, "civitas-postrender", "other-name")
    (plugins / "broken").mkdir()
    (plugins / "broken" / "plugin.yaml").write_text("name: [unclosed")
    assert installed_plugins("civitas-postrender", {"HELM_PLUGINS": str(plugins)}) == [mine]
    assert installed_plugins("civitas-postrender", {"HELM_PLUGINS": str(tmp_path / "missing")}) == []


def test_a_second_plugin_of_an_installed_name_is_refused_unless_forced(tmp_path: Path) -> None:
    plugins = tmp_path / "data" / "plugins"
    installed = _install(plugins, "helm-plugin", "civitas-postrender")
    env = {"HELM_DATA_HOME": str(tmp_path / "data")}
    refused = run_cli(["helm-plugin", str(tmp_path / "new")], env=env)
    assert refused.returncode == 1 and not (tmp_path / "new").exists()
    message = refused.stderr.decode()
    assert str(installed) in message and "helm plugin uninstall civitas-postrender" in message and "--force" in message
    other_name = run_cli(["helm-plugin", "--name", "civitas-mirror", str(tmp_path / "other")], env=env)
    assert other_name.returncode == 0, other_name.stderr
    forced = run_cli(["helm-plugin", "--force", str(tmp_path / "new")], env=env)
    assert forced.returncode == 0 and (tmp_path / "new" / "plugin.yaml").is_file()
    assert b"warning: a Helm plugin named 'civitas-postrender' is also installed" in forced.stderr


def test_rewriting_the_installed_plugin_itself_is_an_update(tmp_path: Path) -> None:
    """A local ``helm plugin install DIR`` is a link to DIR: writing DIR again is not a second plugin."""
    source = tmp_path / "source"
    assert run_cli(["helm-plugin", str(source)]).returncode == 0
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "source").symlink_to(source)
    again = run_cli(["helm-plugin", "--force", str(source)], env={"HELM_PLUGINS": str(plugins)})
    assert again.returncode == 0 and b"warning" not in again.stderr


# --- the launcher, run as Helm 4 runs it ---------------------------------------------------------------
def test_helm4_stream_through_the_plugin(plugin_dir: Path) -> None:
    stream = (FIXTURES / "helm4" / "analytics.yaml").read_bytes()
    args = [f"--registry={REGISTRY}", f"--folder={FOLDER}", "--pull-secret=regcred"]
    result = run_like_helm4(plugin_dir, stream, args)
    assert result.returncode == 0, result.stderr
    output = result.stdout.decode()
    assert output.strip()  # pkg/postrenderer rejects empty output
    # Helm splits the output back into files by this annotation: every one must survive, byte for byte.
    annotations = [line for line in stream.decode().splitlines() if FILENAME_ANNOTATION in line]
    assert [line for line in output.splitlines() if FILENAME_ANNOTATION in line] == annotations
    assert not any(line.startswith("# Source:") for line in output.splitlines())
    findings = collect(output, load_rules())
    hooks = {site.doc.name for site in findings.sites if site.doc.hook}
    assert hooks == {"analytics-superset-init-db", "analytics-superset-test-connection"}  # hooks are in Helm 4's stream
    assert all(is_private(parse_reference(site.text), REGISTRY) for site in findings.sites)  # type: ignore[arg-type]
    assert len(findings.sites) == 8
    outcome = Outcome()  # and the CI gate agrees: every pod spec, hooks included, has the secret
    check_stream(output, "helm4", Settings(registry=REGISTRY, pull_secrets=("regcred",)), load_rules(), outcome)
    assert outcome.problems == [] and outcome.pod_specs == 5


def test_settings_reach_the_plugin_through_the_environment_and_a_config_file(plugin_dir: Path, tmp_path: Path) -> None:
    stream = (FIXTURES / "helm4" / "analytics.yaml").read_bytes()
    by_env = run_like_helm4(plugin_dir, stream, [], {"CIVITAS_POSTRENDER_REGISTRY": REGISTRY, "CIVITAS_POSTRENDER_FOLDER": FOLDER})
    config = tmp_path / "civitas.yaml"
    config.write_text(f"registry: {REGISTRY}\nfolder: {FOLDER}\n")
    by_file = run_like_helm4(plugin_dir, stream, [], {"CIVITAS_POSTRENDER_CONFIG": str(config)})
    by_args = run_like_helm4(plugin_dir, stream, [f"--registry={REGISTRY}", f"--folder={FOLDER}"])
    assert by_env.returncode == by_file.returncode == by_args.returncode == 0
    assert by_env.stdout == by_file.stdout == by_args.stdout
    assert b"registry.intern/civitas/apache/superset:4.1.2" in by_env.stdout


def test_failure_reaches_the_log_because_helm4_drops_stderr(plugin_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "postrender.log"
    stream = (FIXTURES / "helm4" / "analytics.yaml").read_bytes()
    result = run_like_helm4(plugin_dir, stream, [], {"CIVITAS_POSTRENDER_LOG": str(log)})
    assert result.returncode == 1 and result.stdout == b""  # Helm sees only "exited with error"
    assert "no registry given" in log.read_text()


def test_baked_in_config_default_yields_to_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "baked.yaml"
    config.write_text("registry: baked.intern\n")
    directory = tmp_path / "plugin"
    assert run_cli(["helm-plugin", "--config", str(config), str(directory)]).returncode == 0
    stream = (FIXTURES / "helm4" / "analytics.yaml").read_bytes()
    baked = run_like_helm4(directory, stream, [])
    assert b"baked.intern/library/busybox:1.36" in baked.stdout, baked.stderr
    other = tmp_path / "other.yaml"
    other.write_text("registry: other.intern\n")
    overridden = run_like_helm4(directory, stream, [], {"CIVITAS_POSTRENDER_CONFIG": str(other)})
    assert b"other.intern/library/busybox:1.36" in overridden.stdout, overridden.stderr


def _fake_tool(directory: Path, exit_code: int) -> Path:
    """A stand-in executable that echoes argv and stdin and exits with a chosen code."""
    directory.mkdir(parents=True, exist_ok=True)
    fake = directory / "civitas-postrender"
    fake.write_text(f'#!/bin/sh\nprintf "args:%s|" "$@"\ncat\nexit {exit_code}\n')
    fake.chmod(0o755)
    return fake


def _launcher(tmp_path: Path, target: Target) -> Path:
    directory = tmp_path / "plugin"
    directory.mkdir()
    (directory / "plugin.yaml").write_text(plugin_yaml())
    (directory / LAUNCHER).write_text(launcher_script(target))
    (directory / LAUNCHER).chmod(0o755)
    return directory


def test_launcher_passes_argv_stdin_stdout_and_exit_code(tmp_path: Path) -> None:
    fake = _fake_tool(tmp_path / "recorded", 7)
    directory = _launcher(tmp_path, Target(executables=(str(fake),)))
    result = run_like_helm4(directory, b"kind: X\n", ["--registry=a.b", "two words"], {"PATH": "/usr/bin:/bin"})
    assert result.returncode == 7
    assert result.stdout == b"args:--registry=a.b|args:two words|kind: X\n"


def test_launcher_falls_back_to_the_recorded_interpreter_then_path(tmp_path: Path) -> None:
    import postrender

    package_dir = str(Path(postrender.__file__).parent)
    gone = Target(executables=(str(tmp_path / "gone" / "civitas-postrender"),), interpreter=sys.executable, package_dir=package_dir)
    directory = _launcher(tmp_path, gone)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    via_python = run_like_helm4(directory, b"", ["--version"], env)
    assert via_python.returncode == 0 and b"civitas-postrender" in via_python.stdout, via_python.stderr

    nothing = Target(executables=(str(tmp_path / "gone" / "civitas-postrender"),), interpreter=str(tmp_path / "gone" / "python"), package_dir=package_dir)
    (tmp_path / "plugin" / LAUNCHER).write_text(launcher_script(nothing))
    on_path = _fake_tool(tmp_path / "path-bin", 0)
    via_path = run_like_helm4(directory, b"x", ["--a"], {"PATH": f"{on_path.parent}:/usr/bin:/bin"})
    assert via_path.returncode == 0 and via_path.stdout == b"args:--a|x"

    log = tmp_path / "launcher.log"
    missing = run_like_helm4(directory, b"x", [], {"PATH": "/usr/bin:/bin", "CIVITAS_POSTRENDER_LOG": str(log)})
    assert missing.returncode == 1 and missing.stdout == b""
    assert b"cannot find civitas-postrender" in missing.stderr
    assert "cannot find civitas-postrender" in log.read_text()


def test_platform_selection_picks_the_launcher_on_every_os(plugin_dir: Path) -> None:
    for goos, goarch in (("linux", "amd64"), ("darwin", "arm64"), ("linux", "arm64")):
        argv, env = helm4_command(plugin_dir, ["--x"], goos, goarch)
        assert argv == [str(plugin_dir / LAUNCHER), "--x"]
        assert env["HELM_PLUGIN_DIR"] == str(plugin_dir)


def test_same_chart_through_helm3_executable_and_helm4_plugin(plugin_dir: Path) -> None:
    """Helm 3 runs the executable on the manifests without hooks (args one per --post-renderer-args);
    Helm 4 runs the plugin on everything.  Same images, same targets; only Helm 4 reaches the hooks."""
    from test_check import helm3_split

    args = [f"--registry={REGISTRY}", f"--folder={FOLDER}", "--pull-secret=regcred"]
    manifests, hooks = helm3_split((FIXTURES / "helm3" / "analytics-template.yaml").read_text())
    helm3 = run_cli(args, manifests)
    helm4 = run_like_helm4(plugin_dir, (FIXTURES / "helm4" / "analytics.yaml").read_bytes(), args)
    assert helm3.returncode == helm4.returncode == 0

    def images(text: str) -> dict[tuple[str | None, str | None, str], str]:
        return {(s.doc.kind, s.doc.name, s.path): s.text for s in collect(text, load_rules()).sites}

    before3, after3, after4 = images(manifests), images(helm3.stdout.decode()), images(helm4.stdout.decode())
    assert after3 == {key: parse_reference(image).at(REGISTRY, FOLDER) for key, image in before3.items()}  # type: ignore[union-attr]
    assert {k: v for k, v in after4.items() if k in after3} == after3
    hook_images = images(hooks)
    assert hook_images and set(after4) == set(after3) | set(hook_images)
    assert all(after4[key] == parse_reference(image).at(REGISTRY, FOLDER) for key, image in hook_images.items())  # type: ignore[union-attr]


# --- hostile paths: nothing in the launcher is ever evaluated by the shell -------------------------------
SHELLS = [shell for shell in ("/bin/sh", "/usr/bin/dash", "/bin/dash", "/usr/bin/bash", "/bin/bash") if Path(shell).exists()]
# Each would run `touch pwned` (in the working directory) if the shell evaluated it; the others
# break quoting (space, quotes, newline, glob, backslash escapes that dash's echo expands).
HOSTILE_NAMES = [
    "with space", "$(touch pwned)", "`touch pwned`", "'; touch pwned; '", '"; touch pwned; "', "new\nline; touch pwned",
    "${IFS}$(touch${IFS}pwned)", "back\\slash\\c\\n", "glob*?[a]", "-dash", "ünï cödé 😀", "a'b\"c`d$e",
]
FAKE_TOOL = "#!/bin/sh\nprintf '%s\\0' \"$@\" \"config=$CIVITAS_POSTRENDER_CONFIG\" \"log=$CIVITAS_POSTRENDER_LOG\"\n"


def _hostile_dir(tmp_path: Path, name: str) -> Path:
    directory = tmp_path / "x" / name
    directory.mkdir(parents=True)
    return directory


def _no_side_effect(tmp_path: Path) -> None:
    assert not [p for p in tmp_path.rglob("pwned")], "the shell evaluated a path"


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=[f"name{i}" for i in range(len(HOSTILE_NAMES))])
def test_hostile_paths_reach_the_tool_intact(tmp_path: Path, shell: str, name: str) -> None:
    directory = _hostile_dir(tmp_path, name)
    tool = directory / "civitas-postrender"
    tool.write_text(FAKE_TOOL)
    tool.chmod(0o755)
    config, log = directory / "c $(touch pwned).yaml", directory / "l `touch pwned`.log"
    plugin = directory / "plugin"
    plugin.mkdir()
    (plugin / LAUNCHER).write_text(launcher_script(Target(executables=(str(tool),)), config, log))
    work = tmp_path / "work"
    work.mkdir()
    args = ["--registry=a.b", "two words", "$(touch pwned)", "`touch pwned`", "new\nline"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVITAS_POSTRENDER_")}
    result = subprocess.run([shell, str(plugin / LAUNCHER), *args], capture_output=True, cwd=work, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(b"\0")[:-1] == [a.encode() for a in [*args, f"config={config}", f"log={log}"]]
    _no_side_effect(tmp_path)


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("name", HOSTILE_NAMES[:6], ids=[f"name{i}" for i in range(6)])
def test_hostile_interpreter_path_and_not_found_message(tmp_path: Path, shell: str, name: str) -> None:
    directory = _hostile_dir(tmp_path, name)
    python = directory / "python"
    python.write_text(FAKE_TOOL)
    python.chmod(0o755)
    gone = str(directory / "gone" / "civitas-postrender")
    via_python = launcher_script(Target((gone,), str(python), str(directory)))
    (directory / LAUNCHER).write_text(via_python)
    env = {"PATH": "/usr/bin:/bin", "CIVITAS_POSTRENDER_CONFIG": "set by the caller"}
    result = subprocess.run([shell, str(directory / LAUNCHER), "x"], capture_output=True, cwd=tmp_path, env=env, timeout=60)
    assert result.stdout.split(b"\0")[:-1] == [b"-m", b"postrender", b"x", b"config=set by the caller", b"log="]
    # Nothing found: the message names the recorded paths verbatim, on stderr and in the log.
    (directory / LAUNCHER).write_text(launcher_script(Target((gone,), str(directory / "gone" / "python"), str(directory))))
    log = directory / "launcher $(touch pwned).log"
    missing = subprocess.run([shell, str(directory / LAUNCHER)], capture_output=True, cwd=tmp_path,
                             env={"PATH": "/usr/bin:/bin", "CIVITAS_POSTRENDER_LOG": str(log)}, timeout=60)
    assert missing.returncode == 1 and missing.stdout == b""
    message = escape(f"looked for {gone}, {directory / 'gone' / 'python'} -m postrender, or civitas-postrender on PATH")
    assert message in missing.stderr.decode() and message in log.read_text()
    assert len(log.read_text().splitlines()) == 1 and missing.stderr.decode().count("\n") == 1
    assert missing.stderr.decode().count("cannot find") == 1
    _no_side_effect(tmp_path)


@pytest.mark.parametrize("name", HOSTILE_NAMES[:8], ids=[f"name{i}" for i in range(8)])
def test_helm_plugin_command_with_hostile_paths_end_to_end(tmp_path: Path, name: str) -> None:
    """`helm-plugin DIR --config C --log-file L` with hostile names, run as Helm 4 runs it: the
    settings come from C, a failure lands in L, and no shell evaluates any of it."""
    directory = _hostile_dir(tmp_path, name)
    config, log = directory / f"{name}.yaml", directory / f"{name}.log"
    config.write_text(f"registry: {REGISTRY}\nfolder: {FOLDER}\n")
    plugin = directory / "plugin dir"
    written = run_cli(["helm-plugin", str(plugin), "--config", str(config), "--log-file", str(log)], cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    stream = (FIXTURES / "helm4" / "analytics.yaml").read_bytes()
    result = run_like_helm4(plugin, stream, [])
    assert result.returncode == 0, result.stderr
    assert b"registry.intern/civitas/apache/superset:4.1.2" in result.stdout
    failed = run_like_helm4(plugin, b"kind: [\n", [])
    assert failed.returncode == 1 and failed.stdout == b""
    assert "invalid YAML" in log.read_text()
    _no_side_effect(tmp_path)
    _no_side_effect(Path.cwd())


def test_launcher_has_no_evaluating_construct() -> None:
    """The shapes that evaluate a value: ${VAR:=value} (its word is expanded), echo (dash expands
    backslashes), eval.  None may appear; values are single-quoted words."""
    text = launcher_script(Target(("/a/b",), "/py", "/pkg"), Path("/c.yaml"), Path("/l.log"))
    assert ":=" not in text and "eval" not in text and "\necho" not in text and " echo " not in text
