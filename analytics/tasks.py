"""Background work of analytics, run by the django-tasks worker."""

from django_tasks import task

from analytics.runs import pipeline_run_execute


@task()
def run_pipeline_task(run_id: int) -> str:
    """Execute a queued pipeline run; returns the run's final status."""
    return str(pipeline_run_execute(run_id=run_id).status)
