"""One view per operation: parse → one service or selector call → render."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from analytics import services
from analytics.models import PipelineRun
from analytics.serializers import (
    AnalyticsProblemSerializer,
    PipelineRunResponseSerializer,
    RunPipelineRequestSerializer,
    RunPipelineResponseSerializer,
    pipeline_run_body,
    run_queued_body,
)
from core.views import ApiView

STAFF_PROBLEMS = {
    401: OpenApiResponse(
        AnalyticsProblemSerializer, description="`not_authenticated`, `token_invalid`"
    ),
    403: OpenApiResponse(AnalyticsProblemSerializer, description="`permission_denied`"),
}


class RunPipelineView(ApiView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="run_pipeline",
        summary="Queue an analytics pipeline run",
        request=RunPipelineRequestSerializer,
        examples=[
            OpenApiExample("Yesterday (UTC)", {}),
            OpenApiExample("A given report day", {"date": "2025-10-24"}),
        ],
        responses={
            202: RunPipelineResponseSerializer,
            400: OpenApiResponse(AnalyticsProblemSerializer, description="`validation_error`"),
            **STAFF_PROBLEMS,
            409: OpenApiResponse(
                AnalyticsProblemSerializer,
                description="`pipeline_busy`, with the queued or running run's `runId`",
            ),
        },
        tags=["analytics"],
        description=(
            "Queue a pipeline run for the task worker (staff only). Without a date the run "
            "computes yesterday (UTC), which the response reports."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = RunPipelineRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = services.pipeline_run_enqueue(
            report_date=serializer.validated_data.get("date"),
            triggered_by=request.user,
            source=PipelineRun.Source.API,
        )
        return Response(run_queued_body(run), status=202)


class PipelineRunView(ApiView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="pipeline_run",
        summary="Status of a pipeline run",
        responses={
            200: PipelineRunResponseSerializer,
            **STAFF_PROBLEMS,
            404: OpenApiResponse(AnalyticsProblemSerializer, description="`not_found`"),
        },
        tags=["analytics"],
        description=(
            "Status, per-stage timings, row counts and error of a pipeline run. A run whose "
            "worker stopped (no heartbeat for PIPELINE_HEARTBEAT_TIMEOUT_S) reads as failed."
        ),
    )
    def get(self, request: Request, run_id: int) -> Response:
        try:
            run = services.pipeline_run_read(run_id=run_id)
        except PipelineRun.DoesNotExist:
            raise exceptions.NotFound(f"No pipeline run {run_id}.") from None
        return Response(pipeline_run_body(run))
