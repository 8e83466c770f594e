"""``horde new output``: the name is checked before anything is written; the template renders a real project."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest
from horde.cli import main
from horde.commands.new import TEMPLATE_DIR, check_output_name, render_output
from horde.errors import UserError
from horde.metrics import BuiltinMetrics, ConnectedSamples, MetricRegistry, TagSet
from horde.output import Params
from horde.output.binding import create_output, new_plugin_manager
from horde.output.manager import Manager
from horde.output.registry import OutputRegistry

ROOT = Path(__file__).resolve().parents[2]

EXPECTED_FILES = {
    ".github/workflows/ci.yml",
    ".gitignore",
    "README.md",
    "pyproject.toml",
    "tox.ini",
    "src/horde_out_tally/__init__.py",
    "src/horde_out_tally/config.py",
    "src/horde_out_tally/output.py",
    "tests/conftest.py",
    "tests/test_config.py",
    "tests/test_conformance.py",
    "tests/test_horde_run.py",
    "tests/test_output.py",
}
NETWORK_FILES = {f.replace("tally", "beacon") for f in EXPECTED_FILES} | {
    "src/horde_out_beacon/batch.py",
    "src/horde_out_beacon/client.py",
    "tests/receiver.py",
}
PUBLIC_MODULES = {
    "horde.output",
    "horde.metrics",
    "horde.testing",
    "horde.testing.fixtures",
}  # horde.testing.fixtures: the documented home of the target fixtures


def files_of(project: Path) -> set[str]:
    return {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "name, message",
    [
        ("Tally", "invalid output name 'Tally': use lowercase letters"),
        ("my-out", "invalid output name 'my-out'"),
        ("9lives", "invalid output name '9lives'"),
        ("", "invalid output name ''"),
        ("class", "invalid output name 'class': it is a Python keyword"),
        ("json", "output name 'json' is already installed, from horde "),
    ],
)
def test_a_bad_name_is_one_line_and_nothing_is_written(tmp_path, capsys, name, message):
    code = main(["new", "output", name, "--no-input", "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith(f"error: {message}") and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


def test_an_existing_directory_is_refused_untouched(tmp_path, capsys):
    (tmp_path / "horde-out-tally").mkdir()
    (tmp_path / "horde-out-tally" / "mine.txt").write_text("keep")
    assert main(["new", "output", "tally", "--no-input", "--output-dir", str(tmp_path)]) != 0
    assert "horde-out-tally already exists" in capsys.readouterr().err
    assert files_of(tmp_path / "horde-out-tally") == {"mine.txt"}


def test_check_output_name_accepts_a_fresh_name():
    check_output_name("tally_2")


def test_new_output_renders_the_whole_project(tmp_path, capsys):
    assert main(["new", "output", "tally", "--no-input", "--output-dir", str(tmp_path)]) == 0
    project = tmp_path / "horde-out-tally"
    assert f"created {project}" in capsys.readouterr().out
    assert files_of(project) == EXPECTED_FILES
    pyproject = (project / "pyproject.toml").read_text()
    assert 'name = "horde-out-tally"' in pyproject
    assert '[project.entry-points."horde.outputs"]\ntally = "horde_out_tally.output:TallyOutput"' in pyproject
    for rel in EXPECTED_FILES:
        text = (project / rel).read_text()
        assert "cookiecutter" not in text and "{{" not in text.replace("${{ matrix", "").replace("${{ vars", ""), rel
        if rel.endswith(".py"):
            compile(text, rel, "exec")
    assert "HORDE_TALLY_FILE" in (project / "README.md").read_text()
    # offline: tox takes horde from HORDE_SOURCE before the project, and the README says how
    assert "deps = {env:HORDE_SOURCE:horde>=" in (project / "tox.ini").read_text()
    assert "HORDE_SOURCE=/path/to/horde-" in (project / "README.md").read_text()
    assert "${{ matrix.python-version }}" in (project / ".github/workflows/ci.yml").read_text()


def test_network_kind_renders_its_own_files(tmp_path, capsys):
    assert main(["new", "output", "beacon", "--kind", "network", "--no-input", "--output-dir", str(tmp_path)]) == 0
    project = tmp_path / "horde-out-beacon"
    assert f"created {project} (network output)" in capsys.readouterr().out
    assert files_of(project) == NETWORK_FILES
    for rel in NETWORK_FILES:
        text = (project / rel).read_text()
        assert "cookiecutter" not in text and "{{" not in text.replace("${{ matrix", "").replace("${{ vars", ""), rel
        if rel.endswith(".py"):
            compile(text, rel, "exec")
    output = (project / "src/horde_out_beacon/output.py").read_text()
    assert "Delivery(" in output and "Every metric sample, sent to an HTTP endpoint" in output
    assert "HORDE_BEACON_URL" in (project / "README.md").read_text()


def test_an_unknown_kind_is_refused(tmp_path):
    from click.testing import CliRunner
    from horde.commands import cli

    result = CliRunner().invoke(cli, ["new", "output", "x", "--kind", "grpc", "--output-dir", str(tmp_path)])
    assert result.exit_code != 0 and "'grpc' is not one of 'file', 'network'" in result.output
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(UserError, match="invalid output kind 'grpc'"):
        render_output("x", tmp_path, kind="grpc")


def _horde_imports(path: Path) -> set[str]:
    """The horde modules a rendered Python file imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "horde"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "horde":
            found.add(node.module)
            if node.module == "horde":
                found |= {f"horde.{alias.name}" for alias in node.names}
    return found


@pytest.mark.parametrize("kind", ["file", "network"])
def test_generated_code_imports_only_the_public_author_modules(tmp_path, kind):
    project = render_output("pub", tmp_path, kind=kind)
    used = set().union(*(_horde_imports(p) for p in project.rglob("*.py")))
    assert used and used <= PUBLIC_MODULES, used - PUBLIC_MODULES


def test_the_template_hooks_import_nothing_from_horde():
    hooks = sorted((TEMPLATE_DIR / "hooks").glob("*.py"))
    assert [h.name for h in hooks] == ["post_gen_project.py", "pre_gen_project.py"]
    for hook in hooks:
        assert _horde_imports(hook) == set(), hook.name


def test_cookiecutter_on_the_repository_path_works_and_checks_the_name(tmp_path):
    from cookiecutter.exceptions import FailedHookException
    from cookiecutter.main import cookiecutter

    repo_template = ROOT / "templates" / "output"
    assert repo_template.resolve() == TEMPLATE_DIR.resolve()
    created = Path(
        cookiecutter(str(repo_template), no_input=True, extra_context={"name": "viaroot"}, output_dir=str(tmp_path))
    )
    assert created == tmp_path / "horde-out-viaroot" and "src/horde_out_viaroot/output.py" in files_of(created)
    for bad in ("json", "class", "Bad-Name"):
        with pytest.raises(FailedHookException):
            cookiecutter(str(repo_template), no_input=True, extra_context={"name": bad}, output_dir=str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["horde-out-viaroot"]
    created = Path(
        cookiecutter(
            str(repo_template),
            no_input=True,
            extra_context={"name": "netroot", "kind": "network"},
            output_dir=str(tmp_path),
        )
    )
    assert "src/horde_out_netroot/client.py" in files_of(created) and not (created / "_kinds").exists()


def test_the_rendered_output_runs_under_the_manager(tmp_path, monkeypatch):
    """In process, without installing: the generated class through horde's own binding and Manager."""
    project = render_output("tally", tmp_path)
    monkeypatch.syspath_prepend(str(project / "src"))
    try:
        from horde_out_tally import TallyOutput

        registry = OutputRegistry()
        plugin = registry.register_extension("tally", TallyOutput)
        result = tmp_path / "tally.jsonl"
        out = create_output(plugin, Params("tally", config_argument=f"file={result},interval=1h"), new_plugin_manager())
        assert set(out.hooks) == {
            "description",
            "set_thresholds",
            "set_test_run_stop",
            "start",
            "add_samples",
            "set_run_status",
            "stop",
            "report",
        }
        builtin = BuiltinMetrics(MetricRegistry())
        manager = Manager([out])
        manager.set_thresholds({})
        manager.start(lambda error: None)
        manager.add_samples(
            [
                ConnectedSamples(
                    builtin.http_request,
                    (1.0, 12.0, 0, 0, 0, 1, 10, 1, 0),
                    1_700_000_000_000_000_000,
                    TagSet.of({"status": "200"}),
                    None,
                )
            ]
        )
        manager.stop(None)
        assert manager.failures == {}
        interval, end = (json.loads(line) for line in result.read_text().splitlines())
        assert interval["metrics"]["http_req_duration"]["mean"] == 12.0
        assert end["type"] == "end" and end["metrics"]["http_reqs"]["count"] == 1
    finally:
        for mod in [m for m in sys.modules if m == "horde_out_tally" or m.startswith("horde_out_tally.")]:
            del sys.modules[mod]


def test_bytecode_in_an_installed_template_does_not_reach_the_project(tmp_path):
    """pip compiles the template's .py files when it installs horde; the post-generation hook drops them."""
    import compileall
    import shutil

    from cookiecutter.main import cookiecutter

    template = tmp_path / "template"
    shutil.copytree(TEMPLATE_DIR, template, ignore=shutil.ignore_patterns("__pycache__"))
    compileall.compile_dir(str(template), quiet=2)  # templated sources do not compile; the rest does
    assert list(template.rglob("__pycache__"))
    project = Path(
        cookiecutter(str(template), no_input=True, extra_context={"name": "pyc"}, output_dir=str(tmp_path / "out"))
    )
    assert files_of(project) and not [p for p in project.rglob("*") if p.name == "__pycache__" or p.suffix == ".pyc"]


def test_without_no_input_it_asks_for_the_rest_but_not_the_name(tmp_path):
    from click.testing import CliRunner
    from horde.commands import cli

    answers = "Counts every sample.\nAda Lovelace\nada@example.com\n2.0.0\n"
    result = CliRunner().invoke(cli, ["new", "output", "asked", "--output-dir", str(tmp_path)], input=answers)
    assert result.exit_code == 0, result.output
    assert "name" not in result.output.split("created")[0]
    pyproject = (tmp_path / "horde-out-asked" / "pyproject.toml").read_text()
    assert 'description = "Counts every sample."' in pyproject
    init = (tmp_path / "horde-out-asked" / "src" / "horde_out_asked" / "__init__.py").read_text()
    assert '__version__ = "2.0.0"' in init  # the one version source
    assert 'name = "Ada Lovelace", email = "ada@example.com"' in pyproject
