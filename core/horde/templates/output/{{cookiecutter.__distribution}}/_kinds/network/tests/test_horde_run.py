"""End to end: a real ``horde run`` against a local HTTP server, sending to the receiver (a real HTTP server)."""

import json
import subprocess
import sys


def test_horde_plugins_lists_the_output():
    proc = subprocess.run([sys.executable, "-c", "from horde.cli import main; raise SystemExit(main())",
                           "plugins", "--json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    mine = {p["name"]: p for p in json.loads(proc.stdout)["plugins"]}["{{ cookiecutter.name }}"]
    assert mine["status"] == "ok" and mine["distribution"] == "{{ cookiecutter.__distribution }}"


def counts(receiver):
    found = {}
    for record in receiver.records():
        found[record["metric"]] = found.get(record["metric"], 0) + 1
    return found


def test_out_argument(horde_run, receiver):
    proc = horde_run("-o", f"{{ cookiecutter.name }}={receiver.url}")
    assert proc.returncode == 0, proc.stderr
    found = counts(receiver)
    assert found["http_reqs"] == 6 and found["iterations"] == 6 and found["checks"] == 6
    assert receiver.repeats == 0


def test_environment_and_json_config(horde_run, receiver, tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(
        {"collectors": {"{{ cookiecutter.name }}": {"url": "http://127.0.0.1:9/nowhere", "interval": "200ms"}}}))
    proc = horde_run("-o", "{{ cookiecutter.name }}", "-c", "config.json", env={"{{ cookiecutter.__env_prefix }}URL": receiver.url})
    assert proc.returncode == 0, proc.stderr
    assert counts(receiver)["http_reqs"] == 6


def test_an_endpoint_down_for_the_whole_run_is_counted_not_hung(horde_run, receiver):
    receiver.stop()
    proc = horde_run("-o", f"{{ cookiecutter.name }}=url={receiver.url},stop_timeout=1s,retry_max=200ms")
    assert "were not delivered to" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_configuration_is_one_line(horde_run):
    proc = horde_run("-o", "{{ cookiecutter.name }}=interval=soon")
    assert proc.returncode != 0
    assert "invalid interval" in proc.stderr and "Traceback" not in proc.stderr
