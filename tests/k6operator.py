"""The commands grafana/k6-operator generates for a TestRun, restated from its Go sources (commit e2c9571).

Only the cases deploy/ uses: a ConfigMap script, ``spec.arguments`` (a shell
string) or ``spec.args`` (exact argv), quiet and paused at their defaults,
no Istio, no Private Load Zone. Each function names the file it follows;
the tests run these command lines on 127.0.0.1 (with ``k6`` = deploy/k6).
"""

from __future__ import annotations

import json
from typing import Any

API_PORT = 6565
"""The runners' REST API port (fixed in runner.go, curl_start.go and curl_stop.go)."""

INITIALIZER_MISSING_K6 = 'level=error msg="k6 executable not found in PATH; initializer image must contain k6"'


def script_path(spec: dict[str, Any]) -> str:
    """api/v1alpha1/testrun_types.go ParseScript + pkg/types/script.go FullName, ConfigMap case: /test/FILE."""
    return "/test/" + (spec["script"]["configMap"].get("file") or "test.js")


def argv(spec: dict[str, Any]) -> list[str]:
    """TestRunSpec.Argv: ``args`` if non-empty, else ``arguments`` split on whitespace."""
    if spec.get("args"):
        return list(spec["args"])
    return str(spec.get("arguments", "")).split()


def archive_args(args: list[str]) -> list[str]:
    """pkg/types/k6cli.go ParseCLI: the arguments that go to ``k6 archive`` (some run-only flags dropped)."""
    out: list[str] = []
    i = 0
    while i < len(args):
        end = i + 1
        while end < len(args):  # lastArgV: values up to the next flag
            if args[end] == "":
                end += 1 if end == i + 1 else 0
                break
            if args[end].startswith("-"):
                break
            end += 1
        flag = args[i]
        if flag.startswith("--log-output") or flag.startswith(("--block-hostnames", "--blacklist-ip", "--user-agent")):
            pass
        elif flag in ("-l", "--linger", "--no-usage-report", "--verbose", "-v"):
            pass
        else:
            out.extend(args[i:end])
        i = end
    return out


def segment_flags(index: int, total: int) -> list[str]:
    """pkg/segmentation/segmentation.go NewCommandFragments (index is 1-based)."""

    def part(i: int) -> str:
        return "0" if i == 0 else "1" if i == total else f"{i}/{total}"

    sequence = ",".join(["0", *(f"{i}/{total}" for i in range(1, total)), "1"])
    return [f"--execution-segment={part(index - 1)}:{part(index)}", f"--execution-segment-sequence={sequence}"]


def runner_command(name: str, spec: dict[str, Any], index: int) -> list[str]:
    """pkg/resources/jobs/runner.go NewRunnerJob: the container command of runner ``index`` (1-based)."""
    command = ["k6", "run", "--quiet"]
    if int(spec["parallelism"]) > 1:
        command += segment_flags(index, int(spec["parallelism"]))
    command += argv(spec)
    command += [script_path(spec), f"--address=0.0.0.0:{API_PORT}", "--paused"]
    command += ["--tag", f"instance_id={index}", "--tag", f"testrun_name={name}"]
    return command


def _initializer_script(setup: str, archive_ref: str, archive_cmd: str) -> str:
    """pkg/resources/jobs/initializer.go initializerShellScript."""
    if setup:
        setup += "\n"
    return f"""if ! command -v k6 >/dev/null 2>&1; then
  echo '{INITIALIZER_MISSING_K6}' >&2
  exit 127
fi

logs=/tmp/k6logs
{setup}
if ! mkdir -p "$(dirname {archive_ref})"; then
  exit 1
fi

if ! {archive_cmd} 2> "${{logs}}"; then
  cat "${{logs}}"
  exit 1
fi

if ! k6 inspect --execution-requirements {archive_ref} 2> "${{logs}}"; then
  cat "${{logs}}"
  exit 1
fi

if grep 'level.*error' "${{logs}}"; then
  exit 1
fi"""


def initializer_command(spec: dict[str, Any], env_names: list[str] = ()) -> list[str]:  # type: ignore[assignment]
    """pkg/resources/jobs/initializer.go NewInitializerJob + newInitializerCommand: ``sh -c`` and its arguments."""
    script = script_path(spec)
    archive = f"/tmp/{script.rsplit('/', 1)[1]}.archived.tar"
    args = archive_args(argv(spec))
    if not spec.get("args"):  # .spec.arguments: one shell string
        env = "".join(f' -e {n}="${{{n}}}"' for n in env_names)
        cmd = f"k6 archive {script}{env} -O {archive} {' '.join(args)}"
        return ["sh", "-c", _initializer_script("", archive, cmd)]
    archive_command = ["k6", "archive", script]
    for n in env_names:
        archive_command += ["-e", f"{n}=$({n})"]
    archive_command += ["-O", archive, *args]
    script_text = _initializer_script('archive="$1"\nshift', '"${archive}"', '"$@"')
    return ["sh", "-c", script_text, "sh", archive, *archive_command]


def _status_body(**attributes: bool) -> str:
    """pkg/types/k6status.go StatusAPIRequest as Go's json.Marshal writes it."""
    attrs = {"paused": attributes.get("paused", False), "stopped": attributes.get("stopped", False)}
    return json.dumps({"data": {"attributes": attrs, "id": "default", "type": "status"}}, separators=(",", ":"))


def _curl_command(hostnames: list[str], body: str) -> list[str]:
    write_out = (
        '\n{"http_code":%{http_code},"time_total":%{time_total},"time_starttransfer":%{time_starttransfer},'
        '"url":"%{url_effective}","remote_ip":"%{remote_ip}","errormsg":"%{errormsg}"}'
    )
    parts = [
        f"curl --retry 3 -X PATCH -H 'Content-Type: application/json' http://{host}:{API_PORT}/v1/status "
        f"-d '{body}' -s -w '{write_out}'"
        for host in hostnames
    ]
    return ["sh", "-c", ";".join(parts)]


def start_command(hostnames: list[str]) -> list[str]:
    """pkg/resources/containers/curl_start.go NewStartContainer: one ``sh -c`` of a curl PATCH per runner."""
    return _curl_command(hostnames, _status_body(paused=False))


def stop_command(hostnames: list[str]) -> list[str]:
    """pkg/resources/containers/curl_stop.go NewStopContainer: the same with ``stopped: true``."""
    return _curl_command(hostnames, _status_body(stopped=True))


START_BODY = _status_body(paused=False)
STOP_BODY = _status_body(stopped=True)
