"""horde: a VU that only sleeps (memory per VU)."""

from horde import sleep


async def default(data):
    await sleep(1)
