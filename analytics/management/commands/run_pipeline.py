"""`manage.py run_pipeline`: run the analytics pipeline now (cron, operators, benchmarks)."""

from __future__ import annotations

import argparse
import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    handle_default_options,
)
from django.utils import timezone

from analytics.pipeline import PipelineParams, StageTiming, error_line, run_pipeline


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {value}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {value}")
    return value


def _money(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a decimal: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"must be a decimal >= 0, not {text!r}")
    return value


class Command(BaseCommand):
    # Start-up is part of every cron run: no system checks (they import every URL module, and
    # with them DRF and drf-spectacular), and the database layer (services, models) is only
    # imported without --no-db.
    requires_system_checks: list[str] = []
    help = (
        "Run the analytics pipeline for day D: reconciliation, ROAS, anomalies, ARPDAU. Writes "
        "the six reports and, unless --no-db, stores the run and the report rows."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date",
            type=datetime.date.fromisoformat,
            help="report day D, YYYY-MM-DD (default: yesterday UTC)",
        )
        parser.add_argument("--data-dir", type=Path, help="inputs (default: DATA_DIR)")
        parser.add_argument("--reports-dir", type=Path, help="reports (default: REPORTS_DIR)")
        parser.add_argument("--window-minutes", type=_non_negative_int, default=10)
        parser.add_argument("--anomaly-drop", type=float, default=0.30)
        parser.add_argument("--anomaly-days", type=_positive_int, default=7)
        parser.add_argument("--anomaly-min-days", type=_positive_int, default=3)
        parser.add_argument("--anomaly-min-spend", type=_money, default=Decimal("1.00"))
        parser.add_argument(
            "--no-db", action="store_true", help="write the report files only, no database"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Every failure ends as one `CommandError` line (Django prints it on stderr and exits
        1); an unexpected error keeps its traceback only with ``--traceback`` or ``-v 3``."""
        debugging = bool(options.get("traceback")) or int(options.get("verbosity", 1)) >= 3
        try:
            self._run(debugging=debugging, **options)
        except CommandError:
            raise
        except Exception as error:
            if debugging:
                raise
            raise CommandError(error_line(error)) from error

    def _run(self, *, debugging: bool, **options: Any) -> None:
        # services.yesterday_utc, without importing the services for --no-db
        report_date = options["date"] or (
            timezone.now().astimezone(datetime.UTC).date() - datetime.timedelta(days=1)
        )
        data_dir = Path(options["data_dir"] or settings.DATA_DIR)
        reports_dir = Path(options["reports_dir"] or settings.REPORTS_DIR)
        # A line per stage on a terminal, and with -v 2 or more (bench/pipeline/run.py reads them)
        verbose = int(options.get("verbosity", 1)) >= 2
        on_stage = self._show_stage if verbose or self.stdout.isatty() else None
        params = PipelineParams(
            report_date=report_date,
            window_minutes=options["window_minutes"],
            anomaly_drop=options["anomaly_drop"],
            anomaly_days=options["anomaly_days"],
            anomaly_min_days=options["anomaly_min_days"],
            anomaly_min_spend=options["anomaly_min_spend"],
        )
        if options["no_db"]:
            result = run_pipeline(data_dir, reports_dir, params, on_stage=on_stage)
            self._summary(report_date, result.reconciliation, result.stages, reports_dir)
            return

        from analytics import services
        from analytics.errors import PipelineBusy
        from analytics.models import PipelineRun

        try:
            run = services.pipeline_run_now(
                params=params,
                data_dir=data_dir,
                reports_dir=reports_dir,
                on_stage=on_stage,
                reraise_unexpected=debugging,
            )
        except PipelineBusy as busy:
            raise CommandError(str(busy.detail)) from busy
        if run.status != PipelineRun.Status.SUCCEEDED:
            raise CommandError(f"pipeline run {run.pk} failed: {run.error}")
        stages = [StageTiming(**stage) for stage in run.stages]
        reconciliation = run.reconciliation.data
        self._summary(report_date, reconciliation, stages, reports_dir, run_id=run.pk)

    def _show_stage(self, stage: StageTiming) -> None:
        self.stdout.write(f"  {stage.name:<10} {stage.rows:>12,} rows  {stage.seconds:8.3f} s")

    def _summary(
        self,
        report_date: datetime.date,
        reconciliation: dict[str, Any],
        stages: list[StageTiming],
        reports_dir: Path,
        run_id: int | None = None,
    ) -> None:
        seconds = sum(stage.seconds for stage in stages)
        stored = f"run {run_id} stored" if run_id is not None else "database not touched"
        rate = reconciliation["match_rate"]
        self.stdout.write(
            f"pipeline for {report_date.isoformat()} done in {seconds:.2f} s ({stored}): "
            f"{reconciliation['appsflyer_purchases']} purchases, {reconciliation['matched']} "
            f"matched ({'n/a' if rate is None else f'{rate:.2%}'}), "
            f"{reconciliation['rejected_rows']} rejected rows; reports in {reports_dir}"
        )


def run_without_setup(argv: list[str]) -> None:
    """`manage.py run_pipeline --no-db ...` as `execute_from_command_line(argv)` runs it, but
    without `django.setup()`'s app registry and URL prefix: with --no-db the command reads
    settings and files and writes files, and touches no model, URL or app (about 0.2 s of
    start-up, importing every app's models and with them the ORM, forms and templates).
    Settings, --settings/--pythonpath and the logging configuration are handled as there."""
    # --settings and --pythonpath first, as ManagementUtility.execute reads them.
    parser = CommandParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--settings")
    parser.add_argument("--pythonpath")
    parser.add_argument("args", nargs="*")
    try:
        options, _ = parser.parse_known_args(argv[2:])
        handle_default_options(options)
    except CommandError:
        pass  # the command's own parser reports it
    _configure_logging()
    Command().run_from_argv(argv)


def _configure_logging() -> None:
    """`django.utils.log.configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)`, step by
    step, with one difference: Django's ``mail_admins`` handler (`AdminEmailHandler`) resolves
    its exception reporter (``DEFAULT_EXCEPTION_REPORTER``, `django.views.debug`: with it
    django.http, the ORM, forms and templates, about 0.25 s) when it first reports an error
    instead of when it is configured. Same handlers, levels, filters and e-mails."""
    import logging.config
    from functools import cached_property

    from django.utils.log import DEFAULT_LOGGING, AdminEmailHandler
    from django.utils.module_loading import import_string

    class LazyReporterAdminEmailHandler(AdminEmailHandler):
        def __init__(
            self,
            include_html: bool = False,
            email_backend: str | None = None,
            reporter_class: str | None = None,
        ) -> None:
            logging.Handler.__init__(self)
            self.include_html = include_html
            self.email_backend = email_backend
            self._reporter_path = reporter_class

        @cached_property
        def reporter_class(self) -> Any:  # type: ignore[override]
            return import_string(self._reporter_path or settings.DEFAULT_EXCEPTION_REPORTER)

    if not settings.LOGGING_CONFIG:
        return
    logging_config_func = import_string(settings.LOGGING_CONFIG)
    handlers = dict(DEFAULT_LOGGING["handlers"])
    # The same handler but its class: "()" (a factory) instead of "class" (a dotted path).
    mail_admins = {k: v for k, v in handlers["mail_admins"].items() if k != "class"}
    handlers["mail_admins"] = {**mail_admins, "()": LazyReporterAdminEmailHandler}
    logging.config.dictConfig({**DEFAULT_LOGGING, "handlers": handlers})
    if settings.LOGGING:
        logging_config_func(settings.LOGGING)
