"""Refuse an output name that cannot work (``cookiecutter templates/output`` path; ``horde new output``
checks it before rendering)."""

import re
import sys

NAME = "{{ cookiecutter.name }}"

try:
    from horde.commands.new import check_output_name
    from horde.errors import UserError
except ImportError:  # horde is not installed where cookiecutter runs: check the form only
    if not re.fullmatch(r"[a-z][a-z0-9_]*", NAME):
        sys.exit(f"error: invalid output name {NAME!r}: use lowercase letters, digits and '_', starting with a letter")
else:
    try:
        check_output_name(NAME)
    except UserError as exc:
        sys.exit(f"error: {exc}")
