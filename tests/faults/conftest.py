"""The fault suite: runs of the real ``horde`` command that must end on time and say what they lost."""

from horde.testing.fixtures import target  # noqa: F401  (session fixture: a local HTTP target)
