"""Outputs built into the core, registered through the same registry as plugins."""
