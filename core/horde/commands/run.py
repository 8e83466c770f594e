"""``horde run``: execute a load test script."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from ..engine.options import env_options
from .flags import env_vars_from_flags, options_from_flags
from .group import cli, verbose_option
from .k6_flags import K6Command, configure_logging, refuse_flags
from .segment_flags import segment_flags

__all__ = ["run"]


@cli.command(cls=K6Command, context_settings={"show_default": True})
@click.argument("script", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--out",
    "outs",
    multiple=True,
    metavar="NAME[=ARG]",
    help="Send samples to an output; repeatable (also the same output twice).",
)
@click.option("-u", "--vus", type=int, help="Number of virtual users.")
@click.option("-d", "--duration", help="Test duration, e.g. 30s, 1m30s.")
@click.option("-i", "--iterations", type=int, help="Total iterations, shared by the VUs.")
@click.option("-s", "--stage", "stages", multiple=True, metavar="DURATION:TARGET", help="Ramp stage; repeatable.")
@click.option("-e", "--env", "env_vars", multiple=True, metavar="KEY=VALUE", help="Script variable (horde.env).")
@click.option("--tag", "tags", multiple=True, metavar="NAME=VALUE", help="Tag added to every sample.")
@click.option("--system-tags", help="Comma list of system tags to enable (replaces the default set).")
@click.option("--summary-trend-stats", help="Comma list of trend stats for the summary, e.g. avg,p(99).")
@click.option(
    "--summary-mode",
    envvar=["HORDE_SUMMARY_MODE", "K6_SUMMARY_MODE"],
    metavar="MODE",
    help="End-of-test summary text, as k6: compact (default), full or legacy.",
)
@click.option(
    "--summary-time-unit",
    envvar=["HORDE_SUMMARY_TIME_UNIT", "K6_SUMMARY_TIME_UNIT"],
    metavar="UNIT",
    help="Time unit of every time value in the summary: s, ms or us (default: the best unit per value).",
)
@click.option("--no-thresholds", is_flag=True, help="Do not evaluate thresholds.")
@click.option("--no-summary", is_flag=True, help="Do not print the end-of-test summary.")
@click.option("--summary-export", type=click.Path(dir_okay=False), help="Write the summary as k6's JSON to FILE.")
@click.option("-c", "--config", "config_file", type=click.Path(dir_okay=False), help="JSON config file.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    envvar="HORDE_WORKERS",
    show_envvar=True,
    default=None,
    show_default="one per 50 VUs, at most one per core",
    help="Processes that split this instance's VUs and iterations (k6's striped execution segments); "
    "1 runs in this process.",
)
@click.option(
    "--execution-segment",
    metavar="SEGMENT",
    help="Run only this part of the test, as k6: 1/3:2/3, 0.25:0.5, 25%:50%, or 2/3 (= 0:2/3).",
)
@click.option(
    "--execution-segment-sequence",
    metavar="SEQUENCE",
    help="The segments of all instances, as k6: 0,1/3,2/3,1 (the segment must be one of them).",
)
@click.option(
    "--instance",
    metavar="I/N",
    envvar="HORDE_INSTANCE",
    show_envvar=True,
    help="Instance I (1-based) of N equal ones: segment (I-1)/N:I/N of the sequence 0,1/N,...,1, "
    "plus --tag instance_id=I. Just N takes I from JOB_COMPLETION_INDEX+1 (a Kubernetes Indexed Job).",
)
@click.option("-q", "--quiet", is_flag=True, help="No banner and no progress line.")
@click.option(
    "-p", "--paused", is_flag=True, help="Start outputs and wait, sending nothing, until resumed through the REST API."
)
@click.option(
    "-a",
    "--address",
    default=None,
    metavar="HOST:PORT",
    show_default="localhost:6565",
    help="Address of k6's REST API server ('' turns it off); a taken address given here is an error (exit 106).",
)
@click.option(
    "-l",
    "--linger",
    is_flag=True,
    envvar=["HORDE_LINGER", "K6_LINGER"],
    show_envvar=True,
    help="After the end, keep the run and its REST API up until Ctrl+C.",
)
@click.option("--no-setup", is_flag=True, help="Do not run setup() (the REST API's /v1/setup may set its data).")
@click.option("--no-teardown", is_flag=True, help="Do not run teardown() (the REST API's /v1/teardown may run it).")
@click.option(
    "--output-stop-timeout",
    "output_stop_timeouts",
    multiple=True,
    metavar="[OUTPUT=]DURATION",
    envvar="HORDE_OUTPUT_STOP_TIMEOUT",
    show_envvar=True,
    help="How long an output may take to stop at the end before it is abandoned (default 90s); repeatable.",
)
@click.option(
    "--allow-output-loss",
    is_flag=True,
    help="Exit 0 even when an output lost samples (by default such a run exits 112).",
)
@click.option(
    "--plugin",
    "plugins",
    multiple=True,
    metavar="MODULE",
    help="Import this module before the run (it registers outputs with register_extension); an "
    "installed output or distribution name loads it even when HORDE_DISABLE_PLUGIN_AUTOLOAD=1. "
    "Repeatable.",
)
@click.option("--max-redirects", type=int, help="Follow at most N redirects (k6's default 10).")
@click.option("--batch", type=int, help="Max parallel requests of http.batch (default 20).")
@click.option("--batch-per-host", type=int, help="Max parallel requests of http.batch per host (default 6).")
@click.option("--rps", type=int, help="Limit requests per second (of the whole instance).")
@click.option("--user-agent", help="User-Agent of HTTP requests (default 'horde/VERSION'; '' sends none).")
@click.option(
    "--http-debug",
    is_flag=False,
    flag_value="headers",
    default=None,
    metavar="[headers|full]",
    help="Log every HTTP request and response; without body unless --http-debug=full.",
)
@click.option("--insecure-skip-tls-verify", is_flag=True, default=None, help="Skip verification of TLS certificates.")
@click.option("--no-connection-reuse", is_flag=True, default=None, help="Disable keep-alive connections.")
@click.option(
    "--no-vu-connection-reuse", is_flag=True, default=None, help="Do not reuse connections between iterations."
)
@click.option(
    "--min-iteration-duration", metavar="DURATION", help="Minimum time an iteration takes (it sleeps the rest)."
)
@click.option("-w", "--throw", is_flag=True, default=None, help="Throw warnings (like failed HTTP requests) as errors.")
@click.option("--blacklist-ip", "blacklist_ips", multiple=True, metavar="CIDR", help="Block an IP range; repeatable.")
@click.option(
    "--block-hostnames",
    multiple=True,
    metavar="PATTERN",
    help="Block a case-insensitive hostname pattern, with an optional leading '*.' wildcard; repeatable.",
)
@click.option("--console-output", metavar="FILE", help="Write the script's console logging (horde.console) to FILE.")
@click.option("--discard-response-bodies", is_flag=True, default=None, help="Read but do not keep response bodies.")
@click.option(
    "--local-ips",
    metavar="RANGES",
    help="Source IPs the VUs send from, round-robin by VU, e.g. '127.0.0.1-127.0.0.3,10.0.0.0/30'.",
)
@click.option(
    "--dns",
    metavar="ttl=..,select=..,policy=..",
    help="DNS resolver: ttl (inf, 0 or a duration), select (first, random, roundRobin), "
    "policy (preferIPv4, preferIPv6, onlyIPv4, onlyIPv6, any). Default ttl=5m,select=random,policy=preferIPv4.",
)
@click.option(
    "--include-system-env-vars/--no-include-system-env-vars",
    default=None,
    help="Pass the process environment to the script's env (default true; --include-system-env-vars=false).",
)
@click.option("--compatibility-mode", metavar="MODE", help="k6's JavaScript compiler mode: refused (Python scripts).")
@click.option(
    "-t",
    "--type",
    "script_type",
    metavar="TYPE",
    help="'js' (a script) or 'archive'; horde tells them apart by content.",
)
@click.option("--traces-output", metavar="none", help="Only 'none': horde has no request tracing.")
@click.option("--no-usage-report", is_flag=True, help="Accepted: horde never sends usage reports.")
@click.option(
    "--log-format", metavar="FORMAT", envvar="K6_LOG_FORMAT", help="Log lines: default text, 'json' or 'raw'."
)
@click.option(
    "--log-output",
    metavar="OUTPUT",
    envvar="K6_LOG_OUTPUT",
    help="Where logs go: stderr (default), stdout, none or file=PATH.",
)
@click.option("--no-color", is_flag=True, help="Disable colored output.")
@click.option("--profiling-enabled", is_flag=True, help="Refused: horde has no pprof endpoints.")
@click.option("--secret-source", "secret_sources", multiple=True, help="Refused: horde has no secret sources.")
@verbose_option
def run(
    script: Path,
    outs,
    vus,
    duration,
    iterations,
    stages,
    env_vars,
    tags,
    system_tags,
    summary_trend_stats,
    summary_mode,
    summary_time_unit,
    no_thresholds,
    no_summary,
    summary_export,
    config_file,
    workers,
    execution_segment,
    execution_segment_sequence,
    instance,
    quiet,
    paused,
    address,
    linger,
    no_setup,
    no_teardown,
    output_stop_timeouts,
    allow_output_loss,
    plugins,
    **k6_flags: Any,
) -> None:
    """Run a load test SCRIPT and stream every sample to the outputs."""
    from ..engine.run import RunRequest, run_test
    from ..restapi.server import DEFAULT_ADDRESS
    from ..summary import validate_summary_mode

    refuse_flags(k6_flags)
    cli_options = options_from_flags(
        {
            "vus": vus,
            "duration": duration,
            "iterations": iterations,
            "stages": stages,
            "tags": tags,
            "system_tags": system_tags,
            "no_setup": no_setup,
            "no_teardown": no_teardown,
            "summary_trend_stats": summary_trend_stats,
            **k6_flags,
        }
    )
    segment_options = segment_flags(execution_segment, execution_segment_sequence, instance, os.environ)
    if "instance_id" in segment_options:
        cli_options["tags"] = {"instance_id": segment_options.pop("instance_id"), **cli_options.get("tags", {})}
    cli_options.update(segment_options)
    configure_logging(k6_flags)
    include_env = k6_flags.get("include_system_env_vars")
    if include_env is None:
        include_env = env_options(os.environ).get("includeSystemEnvVars", True)
    script_env = {**os.environ, **env_vars_from_flags(env_vars)} if include_env else None
    if summary_time_unit:
        cli_options["summaryTimeUnit"] = summary_time_unit
    req = RunRequest(
        script=script,
        outs=list(outs),
        cli_options=cli_options,
        env_vars=script_env if script_env is not None else env_vars_from_flags(env_vars),
        config_file=config_file,
        summary_export=summary_export,
        quiet=quiet,
        no_summary=no_summary,
        summary_mode=validate_summary_mode(summary_mode) if summary_mode else None,
        no_color=bool(k6_flags.get("no_color")),
        no_thresholds=no_thresholds,
        plugins=list(plugins),
        workers=workers,
        output_stop_timeouts=list(output_stop_timeouts),
        allow_output_loss=allow_output_loss,
        paused=paused,
        address=DEFAULT_ADDRESS if address is None else address,
        address_explicit=address is not None,
        linger=linger,
        environ=dict(os.environ),
    )
    code = run_test(req)
    if code:
        raise click.exceptions.Exit(code)
