"""Subcommands beyond ``plugins``: each module adds one to :data:`horde.cli.cli`."""
