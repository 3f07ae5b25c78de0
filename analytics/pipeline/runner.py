"""`run_pipeline`: the steps of PIPELINE.md in order, timed per stage, reports written last."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from .errors import PipelineInputError, PipelineUnexpectedError, first_line
from .gateway import CHARGEBACK, CHARGEBACK_REVERSAL, REFUND, prepare_gateway
from .inputs import (
    COSTS,
    GATEWAY,
    INPUT_NAMES,
    PURCHASES,
    REJECTED_SCHEMA,
    SESSIONS,
    read_header,
    resolve_inputs,
    scan_input,
)
from .purchases import curate_purchases
from .reconcile import MATCHED_BY_ID, MATCHED_BY_TIME, UNMATCHED, reconcile
from .reports import (
    anomaly_entry,
    anomaly_report,
    arpdau_report,
    curated_frame,
    money_value,
    ratio_of,
    ratio_value,
    roas_report,
    write_reports,
)
from .revenue import (
    DAY_CAMPAIGN,
    AnomalyRule,
    active_players,
    anomalies,
    arpdau_daily,
    arpdau_totals,
    daily_revenue,
    latest_costs,
    orphan_reversals,
    reversed_per_purchase,
    roas_daily,
)


@dataclass(frozen=True)
class PipelineParams:
    """The parameters of one run. A stored run keeps them as `to_json` (beside its directories,
    under the keys the rows have always had) and its day in a column of its own."""

    report_date: datetime.date
    window_minutes: int = 10
    anomaly_drop: float = 0.30
    anomaly_days: int = 7
    anomaly_min_days: int = 3
    anomaly_min_spend: Decimal = Decimal("1.00")

    def to_json(self, *, data_dir: Path | str, reports_dir: Path | str) -> dict[str, Any]:
        """The JSON a run stores: its input and report directories and every parameter but the
        day (money as a decimal string, so it reads back exactly)."""
        return {
            "data_dir": str(data_dir),
            "reports_dir": str(reports_dir),
            "window_minutes": self.window_minutes,
            "anomaly_drop": self.anomaly_drop,
            "anomaly_days": self.anomaly_days,
            "anomaly_min_days": self.anomaly_min_days,
            "anomaly_min_spend": str(self.anomaly_min_spend),
        }

    @classmethod
    def from_json(cls, stored: Mapping[str, Any], *, report_date: datetime.date) -> PipelineParams:
        """The parameters of a stored run (`to_json`'s keys; the directories are not part of
        them), for its day `report_date`."""
        return cls(
            report_date=report_date,
            window_minutes=int(stored["window_minutes"]),
            anomaly_drop=float(stored["anomaly_drop"]),
            anomaly_days=int(stored["anomaly_days"]),
            anomaly_min_days=int(stored["anomaly_min_days"]),
            anomaly_min_spend=Decimal(str(stored["anomaly_min_spend"])),
        )


@dataclass(frozen=True)
class StageTiming:
    name: str
    seconds: float
    rows: int


@dataclass(frozen=True)
class PipelineResult:
    """What a run computed, beside the report files.

    `roas_daily`: every (day, campaign): date, media_source, campaign, cost_usd,
    gross_revenue_usd, reversed_usd, revenue_usd (``pl.Decimal(38, 6)``, exact), roas (float64,
    null when cost is 0). `arpdau_daily`: every (day, campaign): date, media_source, campaign,
    revenue_usd (Decimal), dau, arpdau (float64). `arpdau_totals`: every day: date, revenue_usd,
    dau, arpdau. `anomalies`: the entries of roas_anomaly.json. `reconciliation`: the content of
    reconciliation.json.
    """

    reconciliation: dict[str, Any]
    roas_daily: pl.DataFrame
    anomalies: list[dict[str, Any]]
    arpdau_daily: pl.DataFrame
    arpdau_totals: pl.DataFrame
    rejected_rows: int
    stages: list[StageTiming] = field(default_factory=list)
    inputs: dict[str, Path] = field(default_factory=dict)
    report_files: list[Path] = field(default_factory=list)


def _usd(micros_column: str, name: str) -> pl.Expr:
    return (pl.col(micros_column).cast(pl.Decimal(38, 6)) / 1_000_000).alias(name)


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Parse errors of the CSV reader (bad encoding, unclosed quote) name the input file."""
    try:
        yield
    except pl.exceptions.ComputeError as error:
        raise PipelineInputError(f"{path.name}: unreadable ({first_line(error)})") from error


class _Stages:
    def __init__(self, on_stage: Callable[[StageTiming], None] | None) -> None:
        self.timings: list[StageTiming] = []
        self._on_stage = on_stage
        self.rows = 0

    @contextmanager
    def stage(self, name: str, path: Path | None = None) -> Iterator[_Stages]:
        """Time a stage; an error no check foresaw becomes one `PipelineUnexpectedError` line
        naming the file the stage reads (if any) and the stage."""
        started = time.perf_counter()
        self.rows = 0
        try:
            yield self
        except PipelineInputError:
            raise
        except Exception as error:
            where = f"{path.name}: " if path is not None else ""
            raise PipelineUnexpectedError(
                f"{where}unexpected error in the {name} stage: {type(error).__name__}: "
                f"{first_line(error)}"
            ) from error
        timing = StageTiming(name=name, seconds=time.perf_counter() - started, rows=self.rows)
        self.timings.append(timing)
        if self._on_stage is not None:
            self._on_stage(timing)


def run_pipeline(
    data_dir: Path,
    reports_dir: Path,
    params: PipelineParams,
    *,
    on_stage: Callable[[StageTiming], None] | None = None,
) -> PipelineResult:
    """Run every step on the inputs in `data_dir` and write the six reports to `reports_dir`.

    Raises `PipelineInputError` (before anything is written) for a missing, ambiguous or
    unreadable input, a missing required column or a used column named twice, and
    `PipelineUnexpectedError` (from the original error) for anything else. Reports are renamed
    into place only after everything was computed.
    """
    data_dir, reports_dir = Path(data_dir), Path(reports_dir)
    stages = _Stages(on_stage)

    with stages.stage("inputs") as stage:
        inputs = resolve_inputs(data_dir)
        files = {name: read_header(name, path) for name, path in inputs.items()}
        stage.rows = len(inputs)

    # Sessions first: the largest input, reduced to small aggregates before anything else
    # is held in memory.
    with stages.stage("sessions", inputs[SESSIONS]) as stage:
        with _reading(inputs[SESSIONS]):
            players = active_players(
                scan_input(files[SESSIONS]), files[SESSIONS].header, inputs[SESSIONS]
            )
        stage.rows = players.by_campaign.height

    with stages.stage("purchases", inputs[PURCHASES]) as stage:
        with _reading(inputs[PURCHASES]):
            curated = curate_purchases(
                scan_input(files[PURCHASES]), files[PURCHASES].header, inputs[PURCHASES]
            )
        purchases = curated.purchases
        stage.rows = purchases.height

    with stages.stage("gateway", inputs[GATEWAY]) as stage:
        with _reading(inputs[GATEWAY]):
            gateway = prepare_gateway(
                scan_input(files[GATEWAY]), files[GATEWAY].header, inputs[GATEWAY]
            )
        stage.rows = gateway.purchases.height

    with stages.stage("reconcile") as stage:
        matches = reconcile(purchases, gateway.purchases, params.window_minutes)
        stage.rows = matches.height

    with stages.stage("reversals") as stage:
        per_purchase = reversed_per_purchase(gateway.purchases, gateway.reversals)
        orphans = orphan_reversals(gateway.purchases, gateway.reversals).height
        stage.rows = gateway.reversals.height

    with stages.stage("revenue") as stage:
        revenue = daily_revenue(purchases, gateway.purchases, matches, gateway.reversals)
        stage.rows = revenue.attributed.height

    with stages.stage("roas", inputs[COSTS]) as stage:
        with _reading(inputs[COSTS]):
            costs, costs_rejected = latest_costs(scan_input(files[COSTS]), files[COSTS].header)
        roas = roas_daily(costs, revenue.attributed)
        stage.rows = roas.height

    rule = AnomalyRule(
        days=params.anomaly_days,
        min_days=params.anomaly_min_days,
        drop=params.anomaly_drop,
        min_spend=params.anomaly_min_spend,
    )
    with stages.stage("anomalies") as stage:
        anomaly_entries = [anomaly_entry(a) for a in anomalies(roas, params.report_date, rule)]
        stage.rows = len(anomaly_entries)

    with stages.stage("arpdau") as stage:
        arpdau = arpdau_daily(revenue.attributed, players.by_campaign)
        totals = arpdau_totals(revenue, players.by_day)
        stage.rows = arpdau.height

    with stages.stage("reports") as stage:
        curated_rows = curated_rows_frame(purchases, gateway.purchases, matches, per_purchase)
        rejected = all_rejected(
            [curated.rejected, gateway.rejected, costs_rejected, players.rejected]
        )
        reconciliation = reconciliation_summary(
            params=params,
            appsflyer_rows=curated.appsflyer_rows,
            non_primary_dropped=curated.non_primary_dropped,
            duplicates_removed=curated.duplicates_removed,
            curated_rows=curated_rows,
            per_purchase=per_purchase,
            matches=matches,
            reversals=gateway.reversals,
            orphans=orphans,
            rejected_rows=rejected.height,
        )
        day = params.report_date
        report_files = write_reports(
            reports_dir,
            curated=curated_frame(curated_rows),
            reconciliation=reconciliation,
            roas=roas_report(day, roas.filter(pl.col("date") == day)),
            anomaly=anomaly_report(day, anomaly_rule_summary(params), anomaly_entries),
            arpdau=arpdau_report(
                day, arpdau.filter(pl.col("date") == day), totals.filter(pl.col("date") == day)
            ),
            rejected=rejected,
        )
        stage.rows = curated_rows.height + rejected.height

    return PipelineResult(
        reconciliation=reconciliation,
        roas_daily=roas.select(
            *DAY_CAMPAIGN,
            _usd("cost_micros", "cost_usd"),
            _usd("gross_micros", "gross_revenue_usd"),
            _usd("reversed_micros", "reversed_usd"),
            _usd("revenue_micros", "revenue_usd"),
            "roas",
        ),
        anomalies=anomaly_entries,
        arpdau_daily=arpdau.select(
            *DAY_CAMPAIGN, _usd("revenue_micros", "revenue_usd"), "dau", "arpdau"
        ),
        arpdau_totals=totals.select("date", _usd("revenue_micros", "revenue_usd"), "dau", "arpdau"),
        rejected_rows=rejected.height,
        stages=stages.timings,
        inputs=inputs,
        report_files=report_files,
    )


def anomaly_rule_summary(params: PipelineParams) -> dict[str, Any]:
    return {
        "days": params.anomaly_days,
        "min_days": params.anomaly_min_days,
        "drop": params.anomaly_drop,
        "min_spend": float(params.anomaly_min_spend),
    }


def curated_rows_frame(
    purchases: pl.DataFrame,
    gateway_purchases: pl.DataFrame,
    matches: pl.DataFrame,
    per_purchase: pl.DataFrame,
) -> pl.DataFrame:
    """Every deduplicated purchase in file order with its match and its gateway money.

    `af_pos` and `gw_idx` are the row positions of `purchases` and `gateway_purchases`, so the
    match of each purchase is scattered to its position and the gateway values are gathered by
    position (null where unmatched) instead of joined.
    """
    af_pos = matches.get_column("af_pos")
    matched_gw = pl.repeat(None, purchases.height, dtype=pl.Int64, eager=True).scatter(
        af_pos, matches.get_column("gw_idx")
    )
    status = pl.repeat(UNMATCHED, purchases.height, dtype=pl.String, eager=True).scatter(
        af_pos, matches.get_column("match_status")
    )
    money = (
        gateway_purchases.select(
            "transaction_id",
            pl.col("event_time").alias("gateway_time"),
            pl.col("amount_usd_micros").alias("confirmed_micros"),
        )
        .with_columns(
            *(
                pl.zeros(gateway_purchases.height, pl.Int64, eager=True)
                .scatter(per_purchase.get_column("gw_idx"), per_purchase.get_column(column))
                .alias(column)
                for column in ("reversed_micros", "net_micros")
            ),
        )
        .select(pl.all().gather(matched_gw))
    )
    return purchases.hstack(
        [matched_gw.alias("gw_idx"), status.alias("match_status"), *money.get_columns()]
    ).with_columns(
        (pl.col("gateway_time") - pl.col("event_time"))
        .dt.total_microseconds()
        .alias("time_diff_us")
    )


def all_rejected(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """Rejected rows of every input, by input (contract order) then line."""
    order = {name: index for index, name in enumerate(INPUT_NAMES)}
    combined = pl.concat([part.cast(REJECTED_SCHEMA) for part in parts])  # type: ignore[arg-type]
    return (
        combined.with_columns(
            pl.col("file").replace_strict(order, return_dtype=pl.Int64).alias("_order")
        )
        .sort("_order", "line")
        .drop("_order")
    )


def reconciliation_summary(
    *,
    params: PipelineParams,
    appsflyer_rows: int,
    non_primary_dropped: int,
    duplicates_removed: int,
    curated_rows: pl.DataFrame,
    per_purchase: pl.DataFrame,
    matches: pl.DataFrame,
    reversals: pl.DataFrame,
    orphans: int,
    rejected_rows: int,
) -> dict[str, Any]:
    """The content of reconciliation.json (money rounded, match rate to 4 decimals)."""
    status = curated_rows.get_column("match_status")
    purchases = curated_rows.height
    matched = matches.height
    unconfirmed = curated_rows.filter(pl.col("match_status") == UNMATCHED)
    unmatched_gateway = per_purchase.join(matches.select("gw_idx"), on="gw_idx", how="anti")
    types = reversals.get_column("event_type")

    def total(frame: pl.DataFrame, column: str) -> int:
        return int(frame.get_column(column).sum() or 0)

    return {
        "window_minutes": params.window_minutes,
        "appsflyer_rows": appsflyer_rows,
        "non_primary_dropped": non_primary_dropped,
        "duplicates_removed": duplicates_removed,
        "appsflyer_purchases": purchases,
        "gateway_purchases": per_purchase.height,
        "matched": matched,
        "matched_by_id": int((status == MATCHED_BY_ID).sum()),
        "matched_by_time": int((status == MATCHED_BY_TIME).sum()),
        "unmatched_appsflyer": purchases - matched,
        "unmatched_gateway": unmatched_gateway.height,
        "match_rate": ratio_value(ratio_of(matched, purchases)),
        "revenue_usd": {
            "appsflyer": money_value(total(curated_rows, "revenue_usd_micros")),
            "confirmed": money_value(total(per_purchase, "amount_usd_micros")),
            "reversed": money_value(total(per_purchase, "reversed_micros")),
            "net": money_value(total(per_purchase, "net_micros")),
            "unattributed": money_value(total(unmatched_gateway, "net_micros")),
            "unconfirmed": money_value(total(unconfirmed, "revenue_usd_micros")),
        },
        "refunds": int((types == REFUND).sum()),
        "chargebacks": int((types == CHARGEBACK).sum()),
        "chargeback_reversals": int((types == CHARGEBACK_REVERSAL).sum()),
        "orphan_reversals": orphans,
        "rejected_rows": rejected_rows,
    }
