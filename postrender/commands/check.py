"""``check [PATH ...]``: the CI gate.  Exit 1 when any image would be pulled from outside
the private registry or any pod spec lacks the pull secrets.

Reads any manifest stream: ``helm template`` output (hooks included), a post-rendered
release, or ``kubectl get pods,deploy,... -A -o yaml`` of a live cluster.  Images are
found by the same rules and the same reading as post-render mode (``pipeline.read_stream``) and judged by the
same predicates (``plan.is_private`` / ``plan.is_excluded``), so every image the
post-renderer rewrote passes.  A pod spec whose secret field is present but names no
secret (``imagePullSecret: {}``) is reported: the pod pulls without credentials.

Hooks get their own explanation: Helm 3 hands hook templates (``helm.sh/hook`` Jobs,
test Pods) to no post-renderer (helm/helm#7891; ``pkg/action/action.go``
``renderResources`` splits hooks off before ``pr.Run``), so ``helm template`` on
Helm 3 prints them with their public images even when the rest was post-rendered.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from ..cli import resolve_settings, settings_options
from ..documents import decode
from ..errors import InputError, OutputError, PostrenderError
from ..finder import SecretSite
from ..nodes import Node, ScalarNode, SequenceNode, get
from ..pipeline import SERVICE_ACCOUNT_RULE, prefix_target, read_stream
from ..pullsecrets import names_one
from ..plan import is_excluded, is_private, outside_folder, override_for, unmatched_excludes
from ..outfile import write_stdout
from ..readall import read_all
from ..reference import ImageRef, parse_reference
from ..report import Reporter, escape
from ..rules import RuleSet, load_rules
from ..settings import Settings

HOOK_REASON = "Helm 3 does not post-render hooks (helm/helm#7891), so this stays as the chart wrote it"
HOOK_FIX = ("fix: point the chart's own image values at the registry with `civitas-postrender values "
            "VALUES_FILE > overlay.yaml` and pass `-f overlay.yaml`, or deploy with Helm 4 and the "
            "civitas-postrender plugin (Helm 4 post-renders hooks); an image the template writes itself "
            "(not from values) no overlay reaches: leave test Pods out with `helm template --skip-tests`, or set it in the chart")
YAML_SUFFIXES = (".yaml", ".yml")  # in a directory; a JSON file there is more often a schema than a manifest


class CheckUsageError(PostrenderError):
    """The gate could not run (bad options, unreadable input): exit 2, as click does for usage
    errors, so CI can tell "images not served" (1) from "check misconfigured"."""

    exit_code = 2


class CheckFailed(PostrenderError):
    """Problems were found (exit 1).  Raised rather than ``ctx.exit(1)``: ``cli.main`` runs click
    with ``standalone_mode=False``, which returns a non-zero exit code instead of raising it."""


@dataclass(frozen=True)
class Problem:
    stream: str
    where: str
    message: str
    hook: str | None
    kind: str | None = None
    name: str | None = None
    image: str | None = None  # None: a pod spec without the pull secrets, or a value left public
    left_public: bool = False  # a value post-render leaves public (a candidate, one it cannot edit in place)
    install: bool = False  # a chart or manifests a controller installs in the cluster (left public until marked)

    def lines(self) -> list[str]:
        out = [f"{self.stream}: {self.where}: {self.message}"]
        if self.hook is not None:
            out += [f"    hook ({self.hook}): {HOOK_REASON};", f"    {HOOK_FIX}"]
        return [escape(line) for line in out]  # a file name or hook annotation from the input: never a forged line


@dataclass
class Outcome:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    images: int = 0  # references found
    passed_images: int = 0  # on the registry
    excluded: int = 0
    left_out: set[ImageRef] = field(default_factory=set)  # distinct excluded or private images: what --exclude may match
    pod_specs: int = 0
    installs_mirrored: int = 0  # installs in the cluster whose resource is annotated as mirrored


def check_stream(stream: str | bytes, name: str, settings: Settings, rules: RuleSet, out: Outcome) -> None:
    """``stream``: text, or its UTF-8 bytes without BOM; read as post-render mode reads it
    (documents that cannot hold images are only validated, never composed)."""
    registry = settings.require_registry()
    data = decode(stream.encode("utf-8")).data if isinstance(stream, str) else stream
    findings, _ = read_stream(data, rules, keep_text=False, keep_secret_sites=True)
    out.warnings += [f"{name}: {w}" for w in findings.warnings + findings.not_references]
    # Never silent: a reference-shaped value the post-renderer would leave public fails the gate
    # too (candidates unless --rewrite-candidates rewrites them, values it cannot edit in place).
    installs = set(findings.installs_left)
    for message in findings.left_public:
        out.problems.append(Problem(name, message.split(": ", 1)[0], message.split(": ", 1)[-1], None, left_public=True,
                                    install=message in installs))
    out.installs_mirrored += len(findings.installs_mirrored)
    for site in findings.registry_settings:  # an operator prefixes the images it derives with these
        target = prefix_target(site.text, registry, settings.folder)
        if target is not None:
            out.problems.append(Problem(name, str(site.where()), f"registry setting {site.text} is not {registry} "
                                        f"(post-render makes it {target})", site.doc.hook, site.doc.kind, site.doc.name, site.text))
    for site in findings.sites:
        ref = parse_reference(site.text)
        if ref is None:
            continue
        out.images += 1
        if is_private(ref, registry, settings):
            out.passed_images += 1
            out.left_out.add(ref)
        elif is_excluded(ref, settings.exclude):
            out.excluded += 1
            out.left_out.add(ref)
        else:
            target = ref.at(registry, settings.folder, override_for(ref, settings.overrides))
            served = (f"is on {registry} but outside the folder {settings.folder}, where the mirror puts nothing"
                      if outside_folder(ref, registry, settings) else f"is not served by {registry}")
            made = (f"post-render makes it {target}" if not site.candidate or settings.rewrite_candidates else
                    f"a candidate post-render leaves as is; --rewrite-candidates makes it {target}, or add a rule or --exclude")
            out.problems.append(Problem(name, str(site.where()),
                                        f"{site.text} {served} ({made})",
                                        site.doc.hook, site.doc.kind, site.doc.name, site.text))
    if settings.pull_secrets:
        for pod_spec in _unique(findings.secrets):
            account = pod_spec.rule == SERVICE_ACCOUNT_RULE
            if account and not settings.service_account_pull_secrets:
                continue
            out.pod_specs += 1
            missing = _missing_secrets(pod_spec, settings.pull_secrets)
            if missing:
                what = ("service account without pull secret(s) {} (the pods operators create under it pull without them)"
                        if account else "pod spec without pull secret(s) {}")
                out.problems.append(Problem(name, str(pod_spec.doc.where(pod_spec.anchor, pod_spec.path)),
                                            what.format(", ".join(missing)), pod_spec.doc.hook,
                                            pod_spec.doc.kind, pod_spec.doc.name))


def _unique(sites: Iterable[SecretSite]) -> list[SecretSite]:
    """Two rules (or a YAML alias) can name one pod spec: judge it once."""
    seen: set[tuple[int, tuple[str, ...]]] = set()
    out = []
    for site in sites:
        key = (id(site.anchor), site.field)
        if key not in seen:
            seen.add(key)
            out.append(site)
    return out


def _missing_secrets(site: SecretSite, secrets: Sequence[str]) -> list[str]:
    node: Node | None = site.anchor
    for key in site.field:
        node = get(node, key)
    if site.style in ("name", "string"):  # one secret only: post-render leaves a name the user set
        return [] if names_one(site.style, node) else list(secrets[:1])
    present: set[str] = set()
    if isinstance(node, SequenceNode):
        for item in node.value:
            value = item if site.style == "strings" else get(item, "name")
            if isinstance(value, ScalarNode):
                present.add(value.value)
    return [s for s in secrets if s not in present]


def read_streams(paths: Sequence[str]) -> Iterable[tuple[str, bytes]]:
    """(name, bytes) per stream: files, every YAML file below a directory (``helm template
    --output-dir``), or stdin for ``-`` / no path."""
    if not paths:
        paths = ["-"]
    if list(paths).count("-") > 1:
        raise InputError("'-' (stdin) given more than once")
    for raw in paths:
        if raw == "-":
            try:
                yield "<stdin>", read_all("-", "<stdin>")
            except OSError as exc:  # a descriptor not open for reading (0>/dev/null)
                raise InputError(f"cannot read stdin: {exc.strerror or exc}") from None
            continue
        path = Path(raw)
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in YAML_SUFFIXES) if path.is_dir() else [path]
        for file in files:
            try:
                yield str(file), read_all(file, str(file))
            except OSError as exc:
                raise InputError(f"{file}: cannot read it: {exc.strerror or exc}") from None


def run_check(paths: Sequence[str], settings: Settings, allow_empty: bool = False) -> Outcome:
    settings.require_registry()
    rules = load_rules(settings.rules)
    outcome = Outcome()
    documents = False
    for name, data in read_streams(paths):
        documents = documents or _CONTENT.search(data) is not None
        try:
            check_stream(decode(data).data, name, settings, rules, outcome)
        except InputError as exc:
            raise InputError(*(f"{name}: {p}" for p in exc.problems)) from None
    if not documents and not allow_empty:  # a gate that checked nothing must not say ok
        raise InputError(f"no documents in {', '.join(paths) if paths else 'stdin'}: nothing was checked "
                         "(pass --allow-empty to accept empty input)")
    return outcome


_CONTENT = re.compile(rb"^(?![ \t]*(?:#|---|\.\.\.|%|$))", re.MULTILINE)  # a line that is not blank, a comment or a marker


def summary(outcome: Outcome, settings: Settings) -> list[str]:
    registry = settings.registry
    images = [p for p in outcome.problems if p.image is not None]
    installs = sum(1 for p in outcome.problems if p.install)
    left = sum(1 for p in outcome.problems if p.left_public) - installs
    secrets = len(outcome.problems) - len(images) - left - installs
    marked = f"; {outcome.installs_mirrored} install(s) in the cluster marked mirrored" if outcome.installs_mirrored else ""
    in_hooks = sum(1 for p in outcome.problems if p.hook is not None)
    checked = (f"{outcome.pod_specs} pod specs checked for {', '.join(settings.pull_secrets)}"
               if settings.pull_secrets else "pull secrets not checked (none configured)")
    if not outcome.problems:
        return [f"ok: {outcome.passed_images} image references served by {registry}, "
                f"{outcome.excluded} excluded; {checked}{marked}"]
    lines = [f"check failed: {len(images)} image reference(s) not served by {registry}, "
             + (f"{left} value(s) post-render leaves public, " if left else "")
             + (f"{installs} install(s) in the cluster left public (a chart or manifests rendered there), " if installs else "")
             + f"{secrets} pod spec(s) without pull secrets ({outcome.passed_images} served, {outcome.excluded} excluded; {checked}{marked})"]
    if in_hooks:
        lines.append(
            f"{in_hooks} of these are in hook documents. `helm template` prints hooks, but Helm 3 never sends them "
            "to a post-renderer, and the release's own manifest (`helm get manifest`) holds no hooks: "
            "post-rendering on Helm 3 cannot reach them. Use the `values` overlay, or Helm 4 with the plugin "
            "(an image the template hard-codes, as a test Pod's often is, only Helm 4 or `--skip-tests` helps).")
    return lines


@click.command("check")
@click.argument("paths", nargs=-1, metavar="[PATH ...]")
@click.option("--output", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one object on stdout (problems, warnings, counts) for CI tools.")
@click.option("--allow-empty", is_flag=True, help="Accept input that holds no documents (else exit 2: nothing was checked).")
@settings_options
def check(paths: tuple[str, ...], output_format: str, allow_empty: bool, **params: Any) -> None:
    """Fail (exit 1) listing every image not served by --registry and every pod spec without
    the pull secrets, in each PATH (file, directory of YAML files, or - for stdin; default stdin).
    Exit 2: bad usage or unreadable input.

    Reads `helm template` output (hooks included), post-rendered streams, or
    `kubectl get pods,deploy,sts,ds,jobs,cronjobs -A -o yaml`.  Excluded images (--exclude) pass.
    """
    try:
        settings = resolve_settings(params)
        outcome = run_check(paths, settings, allow_empty)
    except PostrenderError as exc:  # not a verdict on the images: the gate could not run
        raise CheckUsageError(*exc.problems) from None
    reporter = Reporter(settings.log_file)
    for warning in [*outcome.warnings, *unmatched_excludes(settings.exclude, outcome.left_out)]:
        reporter.warning(warning)
    lines = summary(outcome, settings)
    if output_format == "json":
        text = [json.dumps(_as_json(outcome, settings, lines), indent=2, ensure_ascii=False)]
    else:
        text = [line for problem in outcome.problems for line in problem.lines()]
        text += lines[1:] if outcome.problems else lines
    try:
        write_stdout("".join(line + "\n" for line in text).encode("utf-8"))
    except OutputError as exc:  # the verdict could not be delivered: the gate did not run (2), never a silent pass
        raise CheckUsageError(*exc.problems) from None
    if outcome.problems:
        raise CheckFailed(lines[0])


def _as_json(outcome: Outcome, settings: Settings, lines: list[str]) -> dict[str, Any]:
    return {
        "ok": not outcome.problems,
        "registry": settings.registry,
        "folder": settings.folder,
        "summary": lines,
        "counts": {"images": outcome.images, "served": outcome.passed_images, "excluded": outcome.excluded,
                   "pod_specs": outcome.pod_specs, "problems": len(outcome.problems),
                   "installs_left": sum(1 for p in outcome.problems if p.install), "installs_mirrored": outcome.installs_mirrored},
        "problems": [{"stream": p.stream, "where": p.where, "message": p.message, "kind": p.kind, "name": p.name,
                      "image": p.image, "hook": p.hook} for p in outcome.problems],
        "warnings": outcome.warnings,
    }


__all__ = ["CheckFailed", "Outcome", "Problem", "check", "check_stream", "run_check"]
