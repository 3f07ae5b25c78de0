"""The analytics pipeline of PIPELINE.md as pure polars functions (no Django here).

`run_pipeline` runs every step and writes the six reports; each step lives in its own module and
takes and returns DataFrames, so it can be tested alone.
"""

from .errors import PipelineInputError, PipelineUnexpectedError, error_line
from .runner import PipelineParams, PipelineResult, StageTiming, run_pipeline

__all__ = [
    "PipelineInputError",
    "PipelineParams",
    "PipelineResult",
    "PipelineUnexpectedError",
    "StageTiming",
    "error_line",
    "run_pipeline",
]
