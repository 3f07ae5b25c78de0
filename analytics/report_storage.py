"""Where a run's reports are kept: its staging directory, the report rows, the report files.

A run computes its reports into a staging directory `REPORTS_DIR/.staging-run<id>-<random>`,
stores every report row inside the caller's transaction (`store_reports`) and, once that
committed, renames the report files into place (`report_files_publish`). A staging directory
left behind by a killed run (GBs at 10M purchases) is removed by `staging_dirs_remove_stale`;
the directory of a running run is kept.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from analytics.models import (
    ArpdauDaily,
    ArpdauTotal,
    PipelineRun,
    ReconciliationSummary,
    RoasAnomaly,
    RoasDaily,
)
from analytics.pipeline import PipelineResult

logger = logging.getLogger(__name__)

REVENUE_FIELDS = {
    "appsflyer": "appsflyer_usd",
    "confirmed": "confirmed_usd",
    "reversed": "reversed_usd",
    "net": "net_usd",
    "unattributed": "unattributed_usd",
    "unconfirmed": "unconfirmed_usd",
}
RECONCILIATION_COUNTS = (
    "window_minutes",
    "appsflyer_rows",
    "non_primary_dropped",
    "duplicates_removed",
    "appsflyer_purchases",
    "gateway_purchases",
    "matched",
    "matched_by_id",
    "matched_by_time",
    "unmatched_appsflyer",
    "unmatched_gateway",
    "refunds",
    "chargebacks",
    "chargeback_reversals",
    "orphan_reversals",
    "rejected_rows",
)

STAGING_PREFIX = ".staging-"
_STAGING_OF_RUN = re.compile(r"\.staging-run(\d+)-")


def staging_dir_create(reports_dir: Path, run_id: int) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}run{run_id}-", dir=reports_dir))


def staging_dirs_remove_stale(reports_dir: Path, *, starting_run: int | None = None) -> list[str]:
    """Remove the staging directories in `reports_dir` that no running run owns.

    They are what a killed run leaves. `starting_run` is the caller's own run, which has not
    made its directory yet. The directory is listed before the running runs are read: a run
    makes its directory only after it committed `running`, so every directory listed belongs to
    a run the query sees (queued runs have none). A directory without a run id in its name (made
    before ids were part of it) is removed only while no other run is running.
    """
    try:
        found = [
            path
            for path in reports_dir.iterdir()
            if path.name.startswith(STAGING_PREFIX) and path.is_dir()
        ]
    except FileNotFoundError:
        return []
    if not found:
        return []
    running = set(
        PipelineRun.objects.filter(status=PipelineRun.Status.RUNNING).values_list("pk", flat=True)
    ) - {starting_run}
    removed = []
    for path in found:
        owner = _STAGING_OF_RUN.match(path.name)
        if (int(owner[1]) in running) if owner else bool(running):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    if removed:
        logger.warning("removed staging directories of dead runs: %s", ", ".join(sorted(removed)))
    return removed


def run_counts(result: PipelineResult) -> dict[str, int]:
    counts = {name: result.reconciliation[name] for name in RECONCILIATION_COUNTS}
    counts.update(
        roas_rows=result.roas_daily.height,
        anomalies=len(result.anomalies),
        arpdau_rows=result.arpdau_daily.height,
    )
    return counts


def report_files_publish(report_files: Iterable[Path], reports_dir: Path) -> None:
    """Rename the staged report files into `reports_dir` (after their rows committed)."""
    for staged in report_files:
        os.replace(staged, reports_dir / staged.name)


def store_reports(run: PipelineRun, result: PipelineResult) -> None:
    """Replace the rows of every day the run covers (inside the caller's transaction)."""
    roas_rows = result.roas_daily.to_dicts()
    RoasDaily.objects.filter(date__in={row["date"] for row in roas_rows}).delete()
    RoasDaily.objects.bulk_create([RoasDaily(run=run, **row) for row in roas_rows], batch_size=1000)

    RoasAnomaly.objects.filter(date=run.date).delete()
    RoasAnomaly.objects.bulk_create(
        [
            RoasAnomaly(
                run=run,
                date=run.date,
                **{key: value for key, value in entry.items() if not key.endswith("_usd")},
                cost_usd=Decimal(str(entry["cost_usd"])),
                revenue_usd=Decimal(str(entry["revenue_usd"])),
            )
            for entry in result.anomalies
        ]
    )

    arpdau_rows = result.arpdau_daily.to_dicts()
    ArpdauDaily.objects.filter(date__in={row["date"] for row in arpdau_rows}).delete()
    ArpdauDaily.objects.bulk_create(
        [ArpdauDaily(run=run, **row) for row in arpdau_rows], batch_size=1000
    )

    total_rows = result.arpdau_totals.to_dicts()
    ArpdauTotal.objects.filter(date__in={row["date"] for row in total_rows}).delete()
    ArpdauTotal.objects.bulk_create(
        [ArpdauTotal(run=run, **row) for row in total_rows], batch_size=1000
    )

    reconciliation = result.reconciliation
    ReconciliationSummary.objects.create(
        run=run,
        date=run.date,
        match_rate=reconciliation["match_rate"],
        data=reconciliation,
        **{name: reconciliation[name] for name in RECONCILIATION_COUNTS},
        **{
            field: Decimal(str(reconciliation["revenue_usd"][key]))
            for key, field in REVENUE_FIELDS.items()
        },
    )
