"""The ``horde-insights`` command: ``serve`` and ``token create|list``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from . import __version__
from .auth import hash_token, new_token
from .store import StoreError, open_store

__all__ = ["main"]

DEFAULT_DB = "insights.db"


def _duration(text: str) -> float:
    """Seconds from ``120``, ``90s``, ``2m``, ``1m30s`` or ``500ms``."""
    import re

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
        raise argparse.ArgumentTypeError(f"invalid duration {text!r} (use e.g. 120, 90s, 2m, 1m30s)")
    return total


def _parser() -> argparse.ArgumentParser:
    env = os.environ
    p = argparse.ArgumentParser(prog="horde-insights", description="Self-hosted results service for horde and k6.")
    p.add_argument("--version", action="version", version=f"horde-insights {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    db_help = ("database: a SQLite file path (default %(default)s) or postgresql://user:pass@host/db "
               "(env HORDE_INSIGHTS_DB)")
    s = sub.add_parser("serve", help="run the service")
    s.add_argument("--db", default=env.get("HORDE_INSIGHTS_DB", DEFAULT_DB), help=db_help)
    s.add_argument("--host", default=env.get("HORDE_INSIGHTS_HOST", "127.0.0.1"), help="address to bind (default %(default)s)")
    s.add_argument("--port", type=int, default=int(env.get("HORDE_INSIGHTS_PORT", "8080")),
                   help="port (0 picks a free one; default %(default)s)")
    s.add_argument("--timeout", type=_duration, default=_duration(env.get("HORDE_INSIGHTS_TIMEOUT", "120")),
                   help="mark a run Timed out after this long without data or finish (default 120s)")
    s.add_argument("--public-url", default=env.get("HORDE_INSIGHTS_PUBLIC_URL"),
                   help="base URL of the web UI given to clients (default: the Host the client used)")
    s.add_argument("--max-body", type=int, default=16 << 20, help="largest accepted metrics push, bytes")
    s.add_argument("-v", "--verbose", action="store_true", help="log every request")

    t = sub.add_parser("token", help="manage API tokens")
    tsub = t.add_subparsers(dest="token_command", required=True)
    c = tsub.add_parser("create", help="create a token for a project (created if new); prints the token")
    c.add_argument("--project", default="default", help="project the token may read and write (default %(default)s)")
    c.add_argument("--label", default="", help="a note to recognise the token by")
    c.add_argument("--db", default=env.get("HORDE_INSIGHTS_DB", DEFAULT_DB), help=db_help)
    ls = tsub.add_parser("list", help="list tokens (their projects and labels; never the secret)")
    ls.add_argument("--db", default=env.get("HORDE_INSIGHTS_DB", DEFAULT_DB), help=db_help)
    return p


def _serve(args) -> int:
    from .ingest import Limits
    from .server import InsightsServer

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    store = open_store(args.db)
    try:
        server = InsightsServer((args.host, args.port), store, timeout=args.timeout, public_url=args.public_url,
                                limits=Limits(metrics_body=args.max_body))
    except OSError as exc:
        raise StoreError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None

    def _shutdown(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _shutdown)
    signal.signal(signal.SIGINT, _shutdown)
    print(f"horde-insights {__version__} listening on {server.url} (database {store.describe}, "
          f"timeout {args.timeout:g}s)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        store.close()
    return 0


def _token(args) -> int:
    store = open_store(args.db)
    try:
        if args.token_command == "create":
            project = store.project_id(args.project, create=True)
            token = new_token()
            store.add_token(hash_token(token), project, args.label)
            print(token)
        else:
            for t in store.list_tokens():
                print(f"{t['project']}\t{t['hash_prefix']}…\t{t['label']}")
    finally:
        store.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        return _token(args)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
