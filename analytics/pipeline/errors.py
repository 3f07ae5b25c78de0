"""Errors of the pipeline package, and the one line every failure is reported as."""

from __future__ import annotations


class PipelineInputError(Exception):
    """A missing, ambiguous or unreadable input, or a bad header (a required column missing, a
    used column named twice).

    The message is one line naming the file (and the column).
    """


class PipelineUnexpectedError(Exception):
    """An error no check foresaw, raised from the original (its ``__cause__``) with one line
    naming the file the stage was reading and the stage."""


def first_line(error: BaseException) -> str:
    """The first non-empty line of an error's message, or its type when it has none."""
    for line in str(error).splitlines():
        if line.strip():
            return " ".join(line.split())
    return type(error).__name__


def error_line(error: BaseException) -> str:
    """The one line a failure is reported as (stderr, the stored run's error)."""
    if isinstance(error, PipelineInputError | PipelineUnexpectedError):
        return " ".join(str(error).split())
    return f"unexpected error: {type(error).__name__}: {first_line(error)}"
