"""The end of a run on the terminal and on disk: the summary export, k6's handleSummary and the summary."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, TextIO

from ..groups import GroupTree
from ..metrics import MetricStore
from ..output.manager import OutputReport
from ..summary import dump_summary_export, render_outputs, render_summary, summary_data, summary_export
from ..summary_full import GroupedSummary
from ..summary_helpers import text_summary
from ..thresholds import Thresholds
from .request import RunRequest
from .summary_handler import SummaryHandlerError, call_handle_summary, write_summary_result

__all__ = ["EndReport", "isatty"]

_log = logging.getLogger("horde.run")


@dataclasses.dataclass
class EndReport:
    """What a finished run writes: its summary export, then the script's ``handle_summary`` result or
    the summary text (k6's, in ``summary_mode``), with the outputs' delivery report."""

    req: RunRequest
    options: dict[str, Any]
    store: MetricStore
    thresholds: Thresholds
    groups: GroupTree
    trend_stats: Any
    time_unit: Any
    summary_mode: str
    grouped: GroupedSummary | None
    setup_data: Any
    has_setup: bool
    handle_summary: Any

    def write(self, elapsed: float, reports: list[OutputReport]) -> None:
        """Write the summary export, then the summary: the script's handle_summary result, or the text
        (k6's end-of-test summary in the run's mode), with the outputs' delivery report."""
        req = self.req
        if req.no_summary or self.options.get("noSummary"):
            return
        export = req.summary_export or self.options.get("summaryExport")
        if export:
            doc = summary_export(
                self.store,
                self.thresholds,
                self.groups,
                elapsed,
                trend_stats=self.trend_stats,
                setup_data=self.setup_data,
                has_setup_data=self.has_setup,
            )
            if reports:
                doc["outputs"] = [r.as_dict() for r in reports]
            Path(export).write_text(dump_summary_export(doc))
        if self.handle_summary is not None:
            result = self._handle_summary(elapsed)
            if result is not None:
                for line in write_summary_result(result, req.stdout, req.stderr):
                    _log.error("%s", line)
                if reports:  # horde's delivery counts stay visible, away from what the script wrote
                    req.stderr.write(render_outputs(reports) + "\n")
                    req.stderr.flush()
                return
        colors = isatty(req.stdout) and not self._no_color()  # k6: colors on a terminal only
        if self.summary_mode == "legacy":
            data = self.data(elapsed)
            text = "\n" + text_summary(data, indent=" ", enable_colors=colors) + "\n\n"
        else:
            text = render_summary(
                self.store,
                self.thresholds,
                elapsed,
                self.groups,
                trend_stats=self.trend_stats,
                time_unit=self.time_unit,
                colors=colors,
                grouped=self.grouped,
            )
        if reports:
            text = text.rstrip("\n") + "\n\n\n" + render_outputs(reports) + "\n\n\n"
        req.stdout.write(text)
        req.stdout.flush()

    def data(self, elapsed: float) -> dict[str, Any]:
        """k6's handleSummary data for this run."""
        return summary_data(
            self.store,
            self.thresholds,
            self.groups,
            elapsed,
            trend_stats=self.trend_stats,
            time_unit=self.time_unit,
            no_color=self._no_color(),
            stdout_tty=isatty(self.req.stdout),
            stderr_tty=isatty(self.req.stderr),
            setup_data=self.setup_data,
            has_setup_data=self.has_setup,
        )

    def _no_color(self) -> bool:
        """``--no-color``, ``NO_COLOR`` or ``K6_NO_COLOR``: k6's summary ``noColor``."""
        environ = self.req.environ
        return (
            self.req.no_color
            or "NO_COLOR" in environ
            or environ.get("K6_NO_COLOR", "").lower() not in ("", "0", "false")
        )

    def _handle_summary(self, elapsed: float) -> dict[str, str | bytes] | None:
        """The script's handle_summary result; None: print the default summary. Errors are logged (k6)."""
        assert self.handle_summary is not None
        try:
            return call_handle_summary(self.handle_summary, self.data(elapsed), self.req.script)
        except SummaryHandlerError as exc:
            _log.error("failed to handle the end-of-test summary: %s", exc)
            return {}


def isatty(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (False for a stream that cannot tell)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
