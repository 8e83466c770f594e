"""Bounded decompression of request bodies: a gzip bomb is refused at a fixed expanded size.

gzip is inflated in steps of at most 1 MiB of output, so memory stays within
the limit whatever the compression ratio; snappy block data declares its
size up front and is checked before any buffer is allocated (see ingest).
"""

from __future__ import annotations

import zlib

from .http import ApiError

__all__ = ["gunzip_within"]

_STEP = 1 << 20


def gunzip_within(body: bytes, limit: int, what: str) -> bytes:
    """``body`` inflated from gzip; 413 once the output passes ``limit`` bytes, 400 when it is not gzip."""
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = bytearray()
    data = body
    try:
        while True:
            out += d.decompress(data, _STEP)
            if len(out) > limit:
                raise ApiError(413, f"{what}: decompressed body larger than the limit of {limit} bytes (gzip)")
            data = d.unconsumed_tail
            if not data:
                break
        out += d.flush()
    except zlib.error as exc:
        raise ApiError(400, f"{what}: body is not valid gzip data ({exc})") from None
    if len(out) > limit:
        raise ApiError(413, f"{what}: decompressed body larger than the limit of {limit} bytes (gzip)")
    if not d.eof:
        raise ApiError(400, f"{what}: truncated gzip data")
    return bytes(out)
