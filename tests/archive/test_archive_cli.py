"""``horde archive`` packs what the script loads; ``horde run ARCHIVE`` runs it anywhere."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

from hordecli import run_horde


def _members(archive: Path) -> list[str]:
    with tarfile.open(archive) as tar:
        return tar.getnames()


def _metadata(archive: Path) -> dict:
    with tarfile.open(archive) as tar:
        f = tar.extractfile("metadata.json")
        assert f is not None
        return json.load(f)


def test_archive_holds_the_script_its_imports_and_files_and_the_options(project, tmp_path):
    out = tmp_path / "out" / "test.archived.tar"
    r = run_horde(
        "archive", "--log-output=none", str(project / "test.py"), "-O", str(out),
        "--vus", "2", "--iterations", "5", "-e", "WHO=archived", "--tag", "site=eu", "--out", "json=x.json", "-q",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert _members(out) == [
        "metadata.json",
        "files/test.py",
        "files/data/users.csv",
        "files/helpers.py",
        "files/settings.json",
    ]
    meta = _metadata(out)
    assert meta["type"] == "horde-python"
    assert meta["filename"] == "test.py"
    assert meta["files"] == ["test.py", "data/users.csv", "helpers.py", "settings.json"]
    assert meta["env"] == {"WHO": "archived"}
    assert meta["options"] == {"vus": 2, "iterations": 5, "tags": {"team": "blue", "site": "eu"}}
    assert not (project / "x.json").exists()  # outputs are a run's business, not the archive's


def test_run_of_an_archive_uses_its_files_options_and_env(project, tmp_path, target):
    archive = tmp_path / "t.tar"
    r = run_horde("archive", str(project / "test.py"), "-O", str(archive), "--iterations", "5", "-e", "WHO=archived")
    assert r.returncode == 0, r.stderr
    shutil.rmtree(project)  # everything the run needs is in the archive
    before = target.requests
    r = run_horde("run", "-q", "--no-summary", "--workers", "1", str(archive), "-e", f"TARGET={target.url}")
    assert r.returncode == 0, r.stderr
    assert target.requests - before == 5  # the archived --iterations 5
    assert target.paths["/status/200"] >= 5
    r = run_horde(
        "run", "-q", "--no-summary", "--workers", "2", "--iterations", "4", str(archive), "-e", f"TARGET={target.url}"
    )
    assert r.returncode == 0, r.stderr  # run flags override the archived options, also across workers
    assert target.requests - before == 9


def test_archive_env_is_overridden_by_run_env(project, tmp_path, target):
    script = project / "who.py"
    script.write_text(
        "from horde import env, http\n"
        "options = {'iterations': 1}\n"
        "async def default():\n"
        "    await http.get(env['TARGET'] + '/status/200/' + env['WHO'])\n"
    )
    archive = tmp_path / "who.tar"
    assert run_horde("archive", str(script), "-O", str(archive), "-e", "WHO=archived").returncode == 0
    run_horde("run", "-q", "--no-summary", "--workers", "1", str(archive), "-e", f"TARGET={target.url}")
    run_horde(
        "run", "-q", "--no-summary", "--workers", "1", str(archive), "-e", f"TARGET={target.url}", "-e", "WHO=run"
    )
    assert target.paths["/status/200/archived"] == 1
    assert target.paths["/status/200/run"] == 1
    r = run_horde("inspect", str(archive))
    assert json.loads(r.stdout)["iterations"] == 1


def test_an_archive_can_be_archived_again_with_more_flags(project, tmp_path):
    first, second = tmp_path / "1.tar", tmp_path / "2.tar"
    assert run_horde("archive", str(project / "test.py"), "-O", str(first), "--vus", "3").returncode == 0
    r = run_horde("archive", str(first), "-O", str(second), "--duration", "10s")
    assert r.returncode == 0, r.stderr
    assert _metadata(second)["options"]["vus"] == 3
    assert _metadata(second)["options"]["duration"] == "10s"
    assert "files/helpers.py" in _members(second)


def test_a_script_that_fails_to_load_is_one_line(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import no_such_module_here\n")
    r = run_horde("archive", str(bad), "-O", str(tmp_path / "bad.tar"))
    assert r.returncode == 107
    assert len(r.stderr.strip().splitlines()) == 1
    assert "no_such_module_here" in r.stderr
    assert not (tmp_path / "bad.tar").exists()


def test_log_output_is_accepted_as_k6_takes_it(project, tmp_path, target):
    """k6-operator passes --log-output to archive and inspect (and a user's arguments reach run)."""
    archive = tmp_path / "lo.tar"
    assert run_horde("archive", "--log-output=none", str(project / "test.py"), "-O", str(archive)).returncode == 0
    r = run_horde("inspect", "--execution-requirements", "--log-output=none", str(archive))
    assert r.returncode == 0 and r.stderr == ""
    r = run_horde("run", "-q", "--no-summary", "--workers", "1", "--log-output=loki=http://loki:3100", str(archive),
                  "-e", f"TARGET={target.url}")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "--log-output=loki is not supported" in r.stderr


def test_local_packages_and_nested_reads_are_archived(tmp_path, target):
    root = tmp_path / "suite"
    (root / "lib" / "data").mkdir(parents=True)
    (root / "lib" / "__init__.py").write_text("")
    (root / "lib" / "paths.py").write_text(
        "from horde import open as horde_open\nSUFFIX = horde_open('data/suffix.txt').strip()\n"
    )  # horde.open resolves against the calling module's directory: lib/data/suffix.txt
    (root / "lib" / "data" / "suffix.txt").write_text("/status/201\n")
    (root / "main.py").write_text(
        "from horde import env, http\nfrom lib.paths import SUFFIX\noptions = {'iterations': 3}\n"
        "async def default():\n    await http.get(env['TARGET'] + SUFFIX)\n"
    )
    archive = tmp_path / "suite.tar"
    assert run_horde("archive", str(root / "main.py"), "-O", str(archive)).returncode == 0
    assert _metadata(archive)["files"] == ["main.py", "lib/__init__.py", "lib/data/suffix.txt", "lib/paths.py"]
    shutil.rmtree(root)
    before = target.paths["/status/201"]
    r = run_horde("run", "-q", "--no-summary", "--workers", "1", str(archive), "-e", f"TARGET={target.url}")
    assert r.returncode == 0, r.stderr
    assert target.paths["/status/201"] - before == 3
