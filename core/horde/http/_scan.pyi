def scan_response(data: bytes, /) -> tuple[int, bool, bool, int] | None:
    """(status, keep_alive, special, head_end) for one whole plain HTTP/1.1 response with a Content-Length, else None."""
