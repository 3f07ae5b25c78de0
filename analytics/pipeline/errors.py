"""Errors of the pipeline package."""


class PipelineInputError(Exception):
    """A missing, ambiguous or unreadable input, or a missing required column.

    The message is one line naming the file (and the column).
    """
