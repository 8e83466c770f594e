from typing import Any

def summarize(
    values: tuple[float, ...], inv_log_gamma: float, min_magnitude: float, /
) -> tuple[Any, Any, int, dict[int, int], dict[int, int]] | None:
    """(min, max, zeros, positive buckets, negative buckets) of a column of floats, or None (not all floats, or an infinity)."""
