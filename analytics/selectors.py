"""Reads of the analytics app."""

from analytics.models import PipelineRun


def pipeline_run_get(*, run_id: int) -> PipelineRun:
    """The run with this id (`PipelineRun.DoesNotExist` when there is none)."""
    return PipelineRun.objects.get(pk=run_id)
