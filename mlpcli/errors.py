"""Typed errors raised by the library and caught, once, by the CLI.

Each carries a one-line message that already names the place (config field
path, file and line, column); the CLI prints it and exits with ``exit_code``.
"""

from __future__ import annotations


class MlpError(Exception):
    """Base class: something the user can fix. Exit code 2 unless a subclass says otherwise."""

    exit_code = 2


class ConfigError(MlpError):
    """The config file or a ``--set`` override is invalid."""


class DataError(MlpError):
    """A dataset is missing, malformed or does not fit the model."""


class ModelFileError(MlpError):
    """A model, state or run file is missing, corrupt, or for another architecture."""


class DivergedError(MlpError):
    """Training produced a non-finite loss or parameter (at learning rate ``lr``)."""

    exit_code = 3

    def __init__(self, message: str, lr: float | None = None) -> None:
        super().__init__(message)
        self.lr = lr


class UsageError(MlpError):
    """A command-line argument cannot be used as given (an --out that would destroy an input)."""
