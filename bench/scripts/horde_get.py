"""horde: one GET per iteration, no sleep, default system tags."""

from horde import env, http


async def default(data):
    await http.get(env["TARGET"])
