"""``--execution-segment``, ``--execution-segment-sequence`` and the ``--instance I/N`` shorthand of ``horde run``."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ExitCode, UserError
from ..segments import Segment, SegmentError, SegmentSequence, instance_segment

__all__ = ["segment_flags", "parse_instance"]


def _flag_error(flag: str, value: str, exc: Exception) -> UserError:
    # k6 exits with its generic code (255) for an invalid flag value; invalid options exit 104
    return UserError(f"invalid {flag} '{value}': {exc}", ExitCode.GENERIC)


def parse_instance(value: str, environ: Mapping[str, str]) -> tuple[int, int]:
    """``"2/3"`` → ``(2, 3)``; ``"3"`` takes the instance from ``JOB_COMPLETION_INDEX`` (0-based) + 1."""
    index_text, sep, count_text = value.partition("/")
    if not sep:
        index_text, count_text = "", index_text
        job_index = environ.get("JOB_COMPLETION_INDEX", "")
        if not job_index.strip().isdigit():
            raise _flag_error("--instance", value, ValueError("expected I/N, or N with JOB_COMPLETION_INDEX set"))
        index_text = str(int(job_index) + 1)
    try:
        index, count = int(index_text), int(count_text)
        instance_segment(index, count)
    except (ValueError, SegmentError) as exc:
        msg = exc if isinstance(exc, SegmentError) else ValueError("expected I/N, e.g. 2/4")
        raise _flag_error("--instance", value, msg) from None
    return index, count


def segment_flags(
    segment: str | None, sequence: str | None, instance: str | None, environ: Mapping[str, str]
) -> dict[str, str]:
    """The options the flags set (``executionSegment``, ``executionSegmentSequence``, ``instance_id``).

    Values are checked here, so a bad flag is one line naming it; the options
    stay strings, as in a config file.
    """
    out: dict[str, str] = {}
    if instance is not None and instance != "":
        if segment is not None or sequence is not None:
            raise UserError(
                "--instance sets the execution segment and sequence: use it or "
                "--execution-segment/--execution-segment-sequence, not both",
                ExitCode.GENERIC,
            )
        index, count = parse_instance(instance, environ)
        seg, seq = instance_segment(index, count)
        return {"executionSegment": str(seg), "executionSegmentSequence": str(seq), "instance_id": str(index)}
    for flag, value, key, parse in (
        ("--execution-segment", segment, "executionSegment", Segment.parse),
        ("--execution-segment-sequence", sequence, "executionSegmentSequence", SegmentSequence.parse),
    ):
        if value is None:
            continue
        try:
            parse(value)
        except SegmentError as exc:
            raise _flag_error(flag, value, exc) from None
        out[key] = value
    return out
