"""The single source of the package version (read by pyproject and ``rapido --version``)."""

__version__ = "0.1.0"
