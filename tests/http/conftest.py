from horde.testing.fixtures import target, tls_target  # noqa: F401
