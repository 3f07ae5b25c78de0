"""Domain errors of analytics; the problem handler renders them (SPEC §3.1 codes)."""

from core.problems import Problem


class PipelineBusy(Problem):
    status_code = 409
    default_code = "pipeline_busy"
    default_detail = "A pipeline run is already queued or running."

    def __init__(self, run_id: int) -> None:
        super().__init__(
            f"Pipeline run {run_id} is already queued or running.", extra={"runId": run_id}
        )
        self.run_id = run_id
