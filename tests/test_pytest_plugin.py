"""The pytest plugin as a chart repository uses it: a throwaway project, its own test, snapshots."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import FIXTURES

pytest_plugins = ["pytester"]

CHART_TEST = '''
from pathlib import Path

def test_analytics_chart(postrender, postrender_snapshot):
    result = postrender(Path(__file__).parent / "rendered" / "analytics.yaml", folder="civitas")
    assert result.output == postrender_snapshot

def test_overrides_win(postrender):
    result = postrender("apiVersion: v1\\nkind: Pod\\nmetadata: {name: p}\\nspec:\\n  containers:\\n  - {name: c, image: nginx:1.27}\\n",
                        registry="other.intern")
    assert "other.intern/library/nginx:1.27" in result.output
'''
CONFTEST = '''
import pytest

@pytest.fixture
def postrender_settings():
    return {"registry": "registry.intern", "pull_secrets": ["regcred"]}
'''


@pytest.fixture
def chart_repo(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A chart repository's test project.  Entry-point autoloading is off so the run loads exactly
    the plugins named with -p, whether or not the pytest11 entry point is installed yet."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    (pytester.path / "rendered").mkdir()
    (pytester.path / "rendered" / "analytics.yaml").write_bytes((FIXTURES / "helm4" / "analytics.yaml").read_bytes())
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_chart=CHART_TEST)
    return pytester


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest_subprocess("-p", "postrender.pytest_plugin", "-p", "syrupy", "-p", "no:cacheprovider", *args)


def test_snapshots_a_post_rendered_chart(chart_repo: pytest.Pytester) -> None:
    created = run(chart_repo, "--snapshot-update")
    created.assert_outcomes(passed=2)
    snapshots = list((chart_repo.path / "__snapshots__").rglob("*.yaml"))
    assert [p.name for p in snapshots] == ["test_analytics_chart.yaml"]
    text = snapshots[0].read_text()
    assert "image: registry.intern/civitas/bitnami/redis:8.2.1-debian-12-r0" in text
    assert "- name: regcred" in text  # conftest's postrender_settings apply
    assert "postrenderer.helm.sh/postrender-filename: 'analytics/templates/deployment.yaml'" in text

    run(chart_repo).assert_outcomes(passed=2)  # unchanged chart: snapshot matches

    stream = chart_repo.path / "rendered" / "analytics.yaml"
    stream.write_text(stream.read_text().replace('image: "busybox:1.36"', 'image: "busybox:1.37"'))
    changed = run(chart_repo, "-vv")
    changed.assert_outcomes(passed=1, failed=1)  # a chart change shows up as a snapshot diff
    changed.stdout.fnmatch_lines(["*- * image: \"registry.intern/civitas/library/busybox:1.36\"",
                                  "*+ * image: \"registry.intern/civitas/library/busybox:1.37\""])


def test_plugin_import_is_light() -> None:
    """pytest imports the plugin in every run: it must not pull in the pipeline or syrupy."""
    code = ("import sys, postrender.pytest_plugin; "
            "heavy = [m for m in ('syrupy', 'yaml', 'ruamel', 'docker_image', 'postrender.pipeline', 'click') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
