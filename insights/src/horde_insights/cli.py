"""The ``horde-insights`` command: ``serve``, ``token create|list``, ``run create|finish|stop`` and ``wait``
(click, as the core's ``horde``)."""

from __future__ import annotations

import logging
import re
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

import click

from . import __version__
from .auth import hash_token, new_token
from .store import StoreError, open_store

__all__ = ["cli", "main"]

DEFAULT_DB = "insights.db"
_F = TypeVar("_F", bound=Callable[..., Any])
_DB_HELP = (
    "Database: a SQLite file path (default insights.db) or postgresql://user:pass@host/db (env HORDE_INSIGHTS_DB)."
)


def parse_duration(text: str) -> float:
    """Seconds from ``120``, ``90s``, ``2m``, ``1m30s`` or ``500ms``; ValueError otherwise."""
    t = text.strip()
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", t):
        return float(t)
    total = 0.0
    pos = 0
    for m in re.finditer(r"([0-9]+(?:\.[0-9]+)?)(ms|h|m|s)", t):
        if m.start() != pos:
            break
        total += float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]
        pos = m.end()
    if pos != len(t) or not t:
        raise ValueError(f"invalid duration {text!r} (use e.g. 120, 90s, 2m, 1m30s)")
    return total


def _duration_option(ctx: click.Context, param: click.Parameter, value: str | float | None) -> float | None:
    """Click callback: a duration option's value in seconds (None when not given and without a default)."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


def _db_option() -> Callable[[_F], _F]:
    return click.option("--db", envvar="HORDE_INSIGHTS_DB", default=DEFAULT_DB, help=_DB_HELP)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="horde-insights", message="%(prog)s %(version)s")
def cli() -> None:
    """Self-hosted results service for horde and k6."""


@cli.command()
@_db_option()
@click.option(
    "--host",
    envvar="HORDE_INSIGHTS_HOST",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind (env HORDE_INSIGHTS_HOST).",
)
@click.option(
    "--port",
    envvar="HORDE_INSIGHTS_PORT",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="Port; 0 picks a free one (env HORDE_INSIGHTS_PORT).",
)
@click.option(
    "--timeout",
    envvar="HORDE_INSIGHTS_TIMEOUT",
    default="120",
    metavar="DURATION",
    callback=_duration_option,
    help="Mark a run Timed out after this long without data or finish (default 120s; env HORDE_INSIGHTS_TIMEOUT).",
)
@click.option(
    "--start-timeout",
    envvar="HORDE_INSIGHTS_START_TIMEOUT",
    default=None,
    metavar="DURATION",
    callback=_duration_option,
    help="Mark a created run that no instance has joined Timed out after this long (default: the larger of "
    "--timeout and 10m, as the pods of a distributed run may take minutes to start; env HORDE_INSIGHTS_START_TIMEOUT).",
)
@click.option(
    "--public-url",
    envvar="HORDE_INSIGHTS_PUBLIC_URL",
    default=None,
    help="Base URL of the web UI given to clients (default: the Host the client used; env HORDE_INSIGHTS_PUBLIC_URL).",
)
@click.option(
    "--max-body",
    type=click.IntRange(min=1),
    default=16 << 20,
    show_default=True,
    help="Largest accepted metrics push, bytes.",
)
@click.option(
    "--idle-timeout",
    default="30s",
    metavar="DURATION",
    callback=_duration_option,
    help="Close a connection silent for this long, between requests or within one (default 30s; "
    "a request's headers must arrive within 10s or this, if shorter).",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=1),
    default=4096,
    show_default=True,
    help="Open connections (or requests in progress) at most; a request beyond is answered 503.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every request (method, path, status).")
def serve(
    db: str,
    host: str,
    port: int,
    timeout: float,
    start_timeout: float | None,
    public_url: str | None,
    max_body: int,
    idle_timeout: float,
    max_connections: int,
    verbose: bool,
) -> None:
    """Run the service."""
    from .ingest import Limits
    from .server import InsightsServer

    if idle_timeout <= 0:
        raise click.BadParameter("must be more than 0", param_hint="'--idle-timeout'")
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not verbose:  # uvicorn's "Started server process" and friends
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    store = open_store(db)
    try:
        server = InsightsServer(
            (host, port),
            store,
            timeout=timeout,
            start_timeout=start_timeout,
            public_url=public_url,
            limits=Limits(metrics_body=max_body),
            idle_timeout=idle_timeout,
            max_connections=max_connections,
        )
    except OSError as exc:
        store.close()
        raise StoreError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

    def _shutdown(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _shutdown)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        # as Python itself does: a service started in the background of a script (SIGINT ignored) keeps
        # ignoring Ctrl-C, so that the script's foreground job can still deliver to it; TERM stops it
        signal.signal(signal.SIGINT, _shutdown)
    click.echo(
        f"horde-insights {__version__} listening on {server.url} (database {store.describe}, timeout {timeout:g}s)"
    )
    sys.stdout.flush()
    try:
        server.serve_forever()
    finally:
        server.server_close()
        store.close()


@cli.group()
def token() -> None:
    """Manage API tokens."""


@token.command("create")
@click.option("--project", default="default", show_default=True, help="Project the token may read and write.")
@click.option("--label", default="", help="A note to recognise the token by.")
@_db_option()
def token_create(project: str, label: str, db: str) -> None:
    """Create a token for a project (created if new); print the token."""
    store = open_store(db)
    try:
        project_id = store.project_id(project, create=True)
        assert project_id is not None
        secret = new_token()
        store.add_token(hash_token(secret), project_id, label)
        click.echo(secret)
    finally:
        store.close()


@token.command("list")
@_db_option()
def token_list(db: str) -> None:
    """List tokens: their projects and labels, never the secret."""
    store = open_store(db)
    try:
        for t in store.list_tokens():
            click.echo(f"{t['project']}\t{t['hash_prefix']}…\t{t['label']}")
    finally:
        store.close()


def _service_options(f: _F) -> _F:
    """``--host URL`` and ``--token T`` of the commands that call a running service."""
    f = click.option(
        "--token",
        envvar=["HORDE_INSIGHTS_TOKEN", "K6_CLOUD_TOKEN"],
        required=True,
        help="API token of the run's project (env HORDE_INSIGHTS_TOKEN or K6_CLOUD_TOKEN).",
    )(f)
    f = click.option(
        "--host",
        "url",
        envvar=["HORDE_INSIGHTS_URL", "K6_CLOUD_HOST"],
        default="http://127.0.0.1:8080",
        show_default=True,
        help="URL of the service (env HORDE_INSIGHTS_URL or K6_CLOUD_HOST).",
    )(f)
    return f


def _client(url: str, token: str) -> Any:
    from .client import InsightsClient

    if not re.match(r"^https?://", url):
        raise click.BadParameter(f"{url!r} is not an http:// or https:// URL", param_hint="'--host'")
    return InsightsClient(url, token)


def _client_errors(fn: Callable[[], None]) -> None:
    from .client import ClientError

    try:
        fn()
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None


@cli.group("run")
def run_group() -> None:
    """Create, finish and stop runs of several instances on a running service."""


@run_group.command("create")
@click.option("--name", required=True, help="Name of the run.")
@click.option("--instances", type=click.IntRange(min=1), default=1, show_default=True, help="Instances that push.")
@click.option(
    "--thresholds",
    default="{}",
    metavar="JSON",
    help='k6 thresholds object, e.g. \'{"http_req_duration": ["p(95)<500"]}\'; Insights evaluates them on the '
    "merged data of all instances.",
)
@click.option("--vus", type=click.IntRange(min=0), default=0, help="Planned VUs (shown only).")
@click.option("--duration", default="0", metavar="DURATION", callback=_duration_option, help="Planned duration.")
@_service_options
def run_create(name: str, instances: int, thresholds: str, vus: int, duration: float, url: str, token: str) -> None:
    """Create one run for N instances (as k6-operator does); print its reference id on the last line.

    Start each instance with K6_CLOUD_PUSH_REF_ID (k6) or HORDE_CLOUD_PUSH_REF_ID (horde) set to it.
    """
    import json

    try:
        parsed = json.loads(thresholds)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="'--thresholds'") from None
    if not isinstance(parsed, dict):
        raise click.BadParameter("must be a JSON object", param_hint="'--thresholds'")
    body = {
        "name": name,
        "vus": vus,
        "duration": int(duration),
        "thresholds": parsed,
        "instances": instances,
        "process_thresholds": True,
    }

    def go() -> None:
        reply = _client(url, token).call("POST", "/v1/tests", body)
        ref = reply.get("reference_id")
        web = (reply.get("config") or {}).get("webAppURL")
        click.echo(f"run {ref} created for {instances} instance{'s' if instances > 1 else ''}: {web}/runs/{ref}")
        click.echo(ref)

    _client_errors(go)


@run_group.command("finish")
@click.argument("run_id", metavar="RUN")
@_service_options
def run_finish(run_id: str, url: str, token: str) -> None:
    """Finish RUN as its creator (k6-operator's finish call): needed when its instances are real k6,
    which report no end of their own."""

    def go() -> None:
        client = _client(url, token)
        client.call("POST", f"/v1/tests/{run_id}", {"run_status": 3, "result_status": 0, "thresholds": {}})
        progress = client.call("GET", f"/v1/test-progress/{run_id}")
        click.echo(f"run {run_id}: {progress.get('run_status_text')}")

    _client_errors(go)


@run_group.command("stop")
@click.argument("run_id", metavar="RUN")
@_service_options
def run_stop(run_id: str, url: str, token: str) -> None:
    """Stop RUN: its instances stop within seconds (pushes are refused as k6's cloud refuses them)."""

    def go() -> None:
        reply = _client(url, token).call("POST", f"/api/v1/runs/{run_id}/stop", {})
        click.echo(f"run {run_id} stopped: {reply.get('abort_reason')}")

    _client_errors(go)


@cli.command("wait")
@click.argument("run_id", metavar="RUN")
@click.option("--interval", default="1s", metavar="DURATION", callback=_duration_option, help="Poll interval.")
@click.option(
    "--timeout",
    default="24h",
    metavar="DURATION",
    callback=_duration_option,
    help="Give up (exit 1) when the run has not ended by then (default 24h).",
)
@_service_options
def wait_cmd(run_id: str, interval: float, timeout: float, url: str, token: str) -> None:
    """Follow RUN until it ends; exit as k6 does: 0 passed, 99 thresholds crossed, 97 run failed or timed out."""
    import time

    from .client import exit_code_of

    client = _client(url, token)
    outcome: dict[str, Any] = {}

    def show(p: dict[str, Any]) -> None:
        done = ", ".join(p.get("instances_finished") or []) or "none"
        click.echo(f"run {run_id}: {p.get('run_status_text')} (instances finished: {done})")

    def go() -> None:
        outcome.update(
            client.follow(run_id, interval=max(0.1, interval), deadline=time.monotonic() + timeout, on_change=show)
        )
        detail = client.call("GET", f"/api/v1/runs/{run_id}")
        verdict = detail.get("verdict") or {}
        for failed in verdict.get("failed") or []:
            click.echo(f"threshold crossed: {failed}")
        if outcome.get("abort_reason"):
            click.echo(f"reason: {outcome['abort_reason']}")

    _client_errors(go)
    code = exit_code_of(int(outcome["run_status"]), outcome.get("result_status"))
    click.echo(f"exit code {code}")
    raise click.exceptions.Exit(code)


_NO_ARGS_IS_HELP: type[click.UsageError] | tuple[()] = getattr(click.exceptions, "NoArgsIsHelpError", ())


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script: user errors as one ``error: …`` line, exit 1 (usage: 2)."""
    try:
        code = cli.main(args=argv, prog_name="horde-insights", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except _NO_ARGS_IS_HELP as exc:  # a group without its command: its help, as argparse's usage error did
        click.echo(exc.format_message(), err=True)
        return exc.exit_code
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        click.echo(f"error: {exc.format_message()}{hint}", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        return exc.exit_code
    except StoreError as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
