"""horde's whole request path with the network taken out (bench/worker_path.py).

The first iteration of each VU sends a real GET to ``TARGET`` (its connection
then waits in the VU's pool); from then on that connection's transport is
replaced by one whose ``write()`` hands nginx's response bytes straight back to
the connection on the next loop turn. Every request still goes through the
client, the HTTP/1.1 connection, httptools, timings, tags, samples and the
metric pipeline; no system call and no server competes for the CPU.
"""

import asyncio

from horde import env, http

RESPONSE = (
    b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 06 Dec 2026 19:40:00 GMT\r\n"
    b"Content-Type: text/html\r\nContent-Length: 58\r\nLast-Modified: Sun, 06 Dec 2026 19:00:00 GMT\r\n"
    b'Connection: keep-alive\r\nETag: "x"\r\nAccept-Ranges: bytes\r\n\r\n' + b"x" * 58
)


class EchoTransport:
    """Answers every write with RESPONSE; everything else goes to the real transport."""

    def __init__(self, conn, real):
        self.conn, self.real = conn, real
        self.loop = asyncio.get_running_loop()

    def write(self, data):
        self.loop.call_soon(self.conn.data_received, RESPONSE)

    def close(self):
        self.real.close()

    def abort(self):
        self.real.abort()

    def get_extra_info(self, *args):
        return self.real.get_extra_info(*args)


async def default(data):
    client = http.client()
    if not getattr(client, "_echo", False):
        await http.get(env["TARGET"])
        for conns in client.transport._idle.values():
            for conn in conns:
                conn.tr = EchoTransport(conn, conn.tr)
        client._echo = True
    await http.get(env["TARGET"])
