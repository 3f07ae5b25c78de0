"""Debugging entry point: ``python -m analytics.pipeline --data-dir D --reports-dir R --date D``."""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

from . import PipelineParams, StageTiming, error_line, run_pipeline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics.pipeline")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--reports-dir", type=Path, default=Path("reports"))
    parser.add_argument("--date", type=datetime.date.fromisoformat, default=None)
    parser.add_argument("--window-minutes", type=int, default=10)
    args = parser.parse_args(argv)
    report_date = args.date or (datetime.datetime.now(datetime.UTC).date() - datetime.timedelta(1))

    def show(stage: StageTiming) -> None:
        print(f"{stage.name:<10} {stage.rows:>12,} rows {stage.seconds:8.3f} s", file=sys.stderr)

    params = PipelineParams(report_date=report_date, window_minutes=args.window_minutes)
    try:
        result = run_pipeline(args.data_dir, args.reports_dir, params, on_stage=show)
    except Exception as error:
        print(f"error: {error_line(error)}", file=sys.stderr)
        return 2
    total = sum(stage.seconds for stage in result.stages)
    print(f"total {total:.3f} s, {result.rejected_rows} rejected rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
