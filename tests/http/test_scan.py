"""The C scanner (horde.http._scan) against httptools: whatever it accepts, it reads as httptools does."""

import os
import random

import httptools
import pytest
from horde.http import h1
from horde.http.transport import parse_header_lines

if h1.scan_response is None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("horde.http._scan is not built (a C compiler and Python's headers are needed)", pytrace=False)
    pytest.skip("horde.http._scan is not built", allow_module_level=True)

scan = h1.scan_response

NGINX = (
    b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 06:40:00 GMT\r\n"
    b"Content-Type: text/html\r\nContent-Length: 58\r\nLast-Modified: Mon, 07 Dec 2026 06:00:00 GMT\r\n"
    b'Connection: keep-alive\r\nETag: "x"\r\nAccept-Ranges: bytes\r\n\r\n' + b"x" * 58
)

ACCEPTED = [
    NGINX,
    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",  # no reason phrase
    b"HTTP/1.1 404 Not Found\r\ncontent-length: 3\r\n\r\nnop",
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Length:5\r\n\r\nerror",  # no space after the colon
    b"HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\n1234567",
    b"HTTP/1.1 200 OK\r\nContent-Length: 1  \r\nX-Empty:\r\n\r\n!",
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n!",
    b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 1\r\n\r\n!",
    b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n!",
    b"HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nSET-COOKIE: k=v\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc",
    b"HTTP/1.1 200 OK\r\nX-Tab:\tvalue\twith tabs\t\r\nX-High: caf\xe9\r\nContent-Length: 2\r\n\r\n\r\n",
    b"HTTP/1.1 599 Whatever \xff\r\nContent-Length: 4\r\n\r\n\r\n\r\n",
]

DECLINED = {
    "interim": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "no content": b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
    "not modified": b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
    "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    "close-delimited": b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody",
    "HTTP/1.0": b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "folded line": b"HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 2\r\n\r\nok",
    "space before colon": b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
    "bare LF": b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    "head split": NGINX[:40],
    "body split": NGINX[:-1],
    "two responses": b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "two lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
    "signed length": b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
    "upgrade": b"HTTP/1.1 200 OK\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n",
    "NUL in a value": b"HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 0\r\n\r\n",
    "not HTTP": b"ICY 200 OK\r\nContent-Length: 0\r\n\r\n",
}


def httptools_reading(data: bytes):
    """(status, keep_alive, special, head, body) as httptools reads one whole response, or None."""

    class Reader:
        def __init__(self):
            self.body, self.messages, self.keep_alive = [], 0, None

        def on_body(self, body):
            self.body.append(body)

        def on_message_complete(self):  # asked here, as horde's connection asks: the parser then resets
            self.messages += 1
            self.keep_alive = parser.should_keep_alive()

    reader = Reader()
    parser = httptools.HttpResponseParser(reader)
    try:
        parser.feed_data(data)
    except httptools.HttpParserError:
        return None
    if reader.messages != 1:
        return None
    head = data[: data.find(b"\r\n\r\n")]
    names = {name.lower() for name, _ in parse_header_lines(head)}
    special = bool(names & {b"set-cookie", b"content-encoding", b"location"})
    return parser.get_status_code(), reader.keep_alive, special, head, b"".join(reader.body)


def scanner_reading(data: bytes):
    scanned = scan(data)
    if scanned is None:
        return None
    status, keep_alive, special, end = scanned
    return status, keep_alive, special, data[:end], data[end + 4 :]


@pytest.mark.parametrize("data", ACCEPTED, ids=range(len(ACCEPTED)))
def test_the_common_responses_are_read_as_httptools_reads_them(data):
    assert scanner_reading(data) is not None
    assert scanner_reading(data) == httptools_reading(data)


@pytest.mark.parametrize("data", DECLINED.values(), ids=DECLINED.keys())
def test_the_rest_is_left_to_httptools(data):
    assert scan(data) is None


def test_keep_alive_and_special_headers():
    assert scan(NGINX)[1:3] == (True, False)
    assert scan(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")[1] is False
    assert scan(b"HTTP/1.1 302 Found\r\nlocation: /\r\nContent-Length: 0\r\n\r\n")[2] is True


def test_only_bytes():
    with pytest.raises(TypeError):
        scan(NGINX.decode())


_ALPHABET = b" \t\r\n:,0123456789aAzZ-\x00\x7f\x80\xff"


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(b) + 1)
        op = rng.random()
        if op < 0.4 and i < len(b):
            b[i] = rng.choice(_ALPHABET)
        elif op < 0.7:
            b[i:i] = bytes([rng.choice(_ALPHABET)])
        elif i < len(b):
            del b[i]
    return bytes(b)


def test_whatever_it_accepts_among_mutated_responses_httptools_reads_the_same():
    rng = random.Random(20261207)
    accepted = 0
    for _ in range(30000):
        data = _mutate(rng, rng.choice(ACCEPTED))
        mine = scanner_reading(data)
        if mine is None:
            continue
        accepted += 1
        assert mine == httptools_reading(data), data
    assert accepted > 3000  # the mutations kept many responses plain: the comparison had work to do


def test_no_reference_is_leaked(assert_no_leak):
    responses = [*ACCEPTED, *DECLINED.values()]
    assert_no_leak(lambda: [scan(data) for data in responses], 5000)
