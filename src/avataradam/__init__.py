"""AvatarAdam: the backend of Adam, the AI F&I trainer avatar for car dealerships."""

from importlib.metadata import version as _version

__version__ = _version("avataradam")
"""The installed release (PEP 440), from `pyproject.toml`; `CHANGELOG.md` has its notes.
`GET /health/live` answers it and the `avataradam_build_info` metric carries it."""
