from django.urls import path

from analytics.api import PipelineRunView, RunPipelineView

urlpatterns = [
    path("run-pipeline", RunPipelineView.as_view(), name="run-pipeline"),
    path("pipeline-runs/<int:run_id>", PipelineRunView.as_view(), name="pipeline-run"),
]
