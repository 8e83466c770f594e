"""{{ cookiecutter.description }}

The horde output ``{{ cookiecutter.name }}``: ``horde run script.py --out {{ cookiecutter.name }}={% if cookiecutter.kind == "network" %}URL{% else %}FILE{% endif %}``.
"""

__version__ = "{{ cookiecutter.version }}"

from .output import {{ cookiecutter.__class_name }}  # noqa: E402  (after __version__, which it reads)

__all__ = ["{{ cookiecutter.__class_name }}"]
