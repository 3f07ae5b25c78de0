"""Request and response shapes of /run-pipeline and /pipeline-runs/<id> (SPEC §3, §3.1)."""

from datetime import datetime
from typing import Any

from rest_framework import ISO_8601, serializers

from analytics.models import PipelineRun
from core.fields import iso_utc
from core.openapi import problem_serializer


def _iso_utc(moment: datetime | None) -> str | None:
    return None if moment is None else iso_utc(moment)


class RunPipelineRequestSerializer(serializers.Serializer):
    date = serializers.DateField(
        required=False,
        input_formats=[ISO_8601],
        help_text="The report day D, YYYY-MM-DD; default yesterday (UTC).",
    )


class RunPipelineResponseSerializer(serializers.Serializer):
    runId = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["queued"])
    date = serializers.DateField(help_text="The report day the run will compute.")


class PipelineStageSerializer(serializers.Serializer):
    name = serializers.CharField()
    seconds = serializers.FloatField()
    rows = serializers.IntegerField()


class PipelineRunResponseSerializer(serializers.Serializer):
    runId = serializers.IntegerField()
    status = serializers.ChoiceField(choices=PipelineRun.Status.values)
    date = serializers.DateField()
    queuedAt = serializers.CharField()
    startedAt = serializers.CharField(allow_null=True)
    finishedAt = serializers.CharField(allow_null=True)
    stages = PipelineStageSerializer(many=True)
    counts = serializers.DictField(child=serializers.IntegerField())
    error = serializers.CharField(allow_null=True)


def run_queued_body(run: PipelineRun) -> dict[str, Any]:
    return {"runId": run.pk, "status": run.status, "date": run.date.isoformat()}


def pipeline_run_body(run: PipelineRun) -> dict[str, Any]:
    return {
        "runId": run.pk,
        "status": run.status,
        "date": run.date.isoformat(),
        "queuedAt": _iso_utc(run.queued_at),
        "startedAt": _iso_utc(run.started_at),
        "finishedAt": _iso_utc(run.finished_at),
        "stages": run.stages,
        "counts": run.counts,
        "error": run.error or None,
    }


# An RFC 9457 problem as these endpoints return it (application/problem+json).
AnalyticsProblemSerializer = problem_serializer(
    "AnalyticsProblem",
    runId=serializers.IntegerField(
        required=False, help_text="pipeline_busy: the queued or running run."
    ),
)
