"""End to end: a real ``horde run`` against a local HTTP server, with the output installed as a plugin."""

import json
import subprocess
import sys


def records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def request_count(recs):
    return sum(r["metrics"].get("http_reqs", {}).get("count", 0) for r in recs if r["type"] == "interval")


def test_horde_plugins_lists_the_output():
    proc = subprocess.run([sys.executable, "-c", "from horde.cli import main; raise SystemExit(main())",
                           "plugins", "--json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    mine = {p["name"]: p for p in json.loads(proc.stdout)["plugins"]}["{{ cookiecutter.name }}"]
    assert mine["status"] == "ok" and mine["distribution"] == "{{ cookiecutter.__distribution }}"


def test_out_argument(horde_run, tmp_path):
    proc = horde_run("-o", "{{ cookiecutter.name }}=results.jsonl")
    assert proc.returncode == 0, proc.stderr
    recs = records(tmp_path / "results.jsonl")
    assert request_count(recs) == 6
    end = recs[-1]
    assert end["type"] == "end" and end["run_status"] == "finished" and end["error"] is None
    assert end["metrics"]["http_reqs"]["count"] == 6 and end["metrics"]["iterations"]["count"] == 6
    assert end["metrics"]["checks"]["mean"] == 1.0


def test_environment_and_json_config(horde_run, tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(
        {"collectors": {"{{ cookiecutter.name }}": {"file": "from-json.jsonl", "interval": "200ms"}}}))
    proc = horde_run("-o", "{{ cookiecutter.name }}", "-c", "config.json")
    assert proc.returncode == 0, proc.stderr
    assert request_count(records(tmp_path / "from-json.jsonl")) == 6

    proc = horde_run("-o", "{{ cookiecutter.name }}", "-c", "config.json", env={"{{ cookiecutter.__env_prefix }}FILE": "from-env.jsonl"})
    assert proc.returncode == 0, proc.stderr
    assert request_count(records(tmp_path / "from-env.jsonl")) == 6


def test_bad_configuration_is_one_line(horde_run):
    proc = horde_run("-o", "{{ cookiecutter.name }}=interval=soon")
    assert proc.returncode != 0
    assert "invalid interval" in proc.stderr and "Traceback" not in proc.stderr
