"""{{ cookiecutter.description }}

The horde output ``{{ cookiecutter.name }}``: ``horde run script.py --out {{ cookiecutter.name }}=FILE``.
"""

from .output import {{ cookiecutter.__class_name }}

__all__ = ["{{ cookiecutter.__class_name }}"]
__version__ = "{{ cookiecutter.version }}"
