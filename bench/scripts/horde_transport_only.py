"""horde without its HTTP client: each iteration sends the GET on the VU's own transport.

The engine, the VU loop and the iteration metrics run as in horde_get.py, but
not ``http.get``'s bookkeeping (route, request metrics, tags, the Response).
bench/request_path.py's ``horde-engine`` rung; iterations count the requests.
"""

from urllib.parse import urlsplit

from horde import env, http
from horde.http.transport import RawRequest

_u = urlsplit(env["TARGET"])
_REQUEST = RawRequest(
    "GET",
    "http",
    _u.hostname or "127.0.0.1",
    _u.port or 80,
    _u.path or "/",
    [("Host", _u.netloc), ("User-Agent", "bench-rungs")],
)


async def default(data):
    await http.client().transport.send(_REQUEST)
