"""Run states as the UI shows them, derived from k6's numeric run status.

The stored ``run_status`` keeps k6's code as received (or 4, set by the
service). What users see is the *state*: Created, Running, Finished (also
for 5 "aborted by user", with that as detail), Timed out, or Aborted by
threshold / script error / system / limit.
"""

from __future__ import annotations

__all__ = ["STATUS_LABELS", "state_of", "FINAL_STATUSES", "STATE_FILTERS", "statuses_of"]

STATUS_LABELS = {
    -2: "created",
    -1: "validated",
    0: "queued",
    1: "initializing",
    2: "running",
    3: "finished",
    4: "timed out",
    5: "aborted by user",
    6: "aborted by system",
    7: "aborted by script error",
    8: "aborted by threshold",
    9: "aborted by limit",
    10: "archived",
}
"""k6's run status codes and their texts (cloudapi.RunStatus)."""

FINAL_STATUSES = frozenset(range(3, 10))
"""Statuses a finish call may report."""

# state key, label, colour
_STATES = {
    -2: ("created", "Created", "grey"),
    2: ("running", "Running", "purple"),
    3: ("finished", "Finished", "green"),
    4: ("timed_out", "Timed out", "red"),
    5: ("finished", "Finished", "green"),
    6: ("aborted_system", "Aborted by system", "orange"),
    7: ("aborted_script_error", "Aborted by script error", "orange"),
    8: ("aborted_threshold", "Aborted by threshold", "orange"),
    9: ("aborted_limit", "Aborted by limit", "orange"),
}


def state_of(run_status: int) -> dict:
    """``{"state", "label", "colour", "detail"}`` for a stored run status."""
    key, label, colour = _STATES.get(
        run_status, ("unknown", STATUS_LABELS.get(run_status, "unknown").capitalize(), "grey")
    )
    detail = STATUS_LABELS.get(run_status, f"status {run_status}")
    return {"state": key, "label": label, "colour": colour, "detail": detail}


STATE_FILTERS = ("created", "running", "finished", "timed_out", "aborted")
"""The states a runs list can be filtered by ("aborted": any of the Aborted by … states)."""


def statuses_of(state: str) -> tuple[int, ...]:
    """The stored run statuses shown as ``state`` (a key of :data:`STATE_FILTERS`); ValueError when unknown."""
    if state not in STATE_FILTERS:
        raise ValueError(f"unknown state {state!r}: use one of {', '.join(STATE_FILTERS)}")
    if state == "aborted":
        return tuple(code for code, (key, _, _) in _STATES.items() if key.startswith("aborted_"))
    return tuple(code for code, (key, _, _) in _STATES.items() if key == state)
