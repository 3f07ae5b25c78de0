"""Builders of small pipeline input files for the pipeline tests."""

from __future__ import annotations

import csv
import datetime
import json
from pathlib import Path
from typing import Any

from analytics.pipeline import PipelineParams, PipelineResult, run_pipeline

REPORT_DATE = datetime.date(2024, 3, 10)

PURCHASE_COLUMNS = [
    "Event Time",
    "Event Name",
    "Event Revenue",
    "Event Revenue Currency",
    "Event Revenue USD",
    "Event Value",
    "AppsFlyer ID",
    "Customer User ID",
    "Media Source",
    "Campaign",
    "Platform",
    "Is Primary Attribution",
]
GATEWAY_COLUMNS = [
    "transaction_id",
    "user_id",
    "event_time",
    "event_type",
    "amount",
    "currency",
    "amount_usd",
]
COST_COLUMNS = ["date", "media_source", "campaign", "cost_usd"]
SESSION_COLUMNS = ["user_id", "session_start", "session_end", "media_source", "campaign"]


def purchase() -> dict[str, str]:
    return {
        "Event Time": "2024-03-10 12:00:00",
        "Event Name": "af_purchase",
        "Event Revenue": "1.99",
        "Event Revenue Currency": "USD",
        "Event Revenue USD": "1.99",
        "Event Value": "",
        "AppsFlyer ID": "af-1",
        "Customer User ID": "u1",
        "Media Source": "net",
        "Campaign": "c1",
        "Platform": "android",
        "Is Primary Attribution": "true",
    }


def af(**values: Any) -> dict[str, str]:
    """An AppsFlyer purchase with keyword names: time, revenue, currency, usd, order, user..."""
    names = {
        "time": "Event Time",
        "name": "Event Name",
        "revenue": "Event Revenue",
        "currency": "Event Revenue Currency",
        "usd": "Event Revenue USD",
        "value": "Event Value",
        "afid": "AppsFlyer ID",
        "user": "Customer User ID",
        "source": "Media Source",
        "campaign": "Campaign",
        "platform": "Platform",
        "primary": "Is Primary Attribution",
    }
    row = purchase()
    for key, value in values.items():
        if key == "order":
            row["Event Value"] = json.dumps({"af_order_id": value})
        else:
            row[names[key]] = value
    return row


def gw(**values: str) -> dict[str, str]:
    """A gateway row; keyword names: txn, user, time, type, amount, currency, usd."""
    names = {
        "txn": "transaction_id",
        "user": "user_id",
        "time": "event_time",
        "type": "event_type",
        "amount": "amount",
        "currency": "currency",
        "usd": "amount_usd",
    }
    row = {
        "transaction_id": "T1",
        "user_id": "u1",
        "event_time": "2024-03-10T12:00:00Z",
        "event_type": "purchase",
        "amount": "1.99",
        "currency": "USD",
        "amount_usd": "1.99",
    }
    for key, value in values.items():
        row[names[key]] = value
    return row


def cost(date: str, source: str, campaign: str, usd: str) -> dict[str, str]:
    return {"date": date, "media_source": source, "campaign": campaign, "cost_usd": usd}


def session(user: str, start: str, source: str = "net", campaign: str = "c1") -> dict[str, str]:
    return {
        "user_id": user,
        "session_start": start,
        "session_end": "",
        "media_source": source,
        "campaign": campaign,
    }


def write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_inputs(
    data_dir: Path,
    *,
    purchases: list[dict[str, str]] | None = None,
    gateway: list[dict[str, str]] | None = None,
    costs: list[dict[str, str]] | None = None,
    sessions: list[dict[str, str]] | None = None,
) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    write_csv(data_dir / "purchases_raw.csv", PURCHASE_COLUMNS, purchases or [])
    write_csv(data_dir / "confirmed_purchases.csv", GATEWAY_COLUMNS, gateway or [])
    write_csv(data_dir / "costs_daily.csv", COST_COLUMNS, costs or [])
    write_csv(data_dir / "sessions.csv", SESSION_COLUMNS, sessions or [])
    return data_dir


def run(
    tmp_path: Path, report_date: datetime.date = REPORT_DATE, **inputs: Any
) -> tuple[PipelineResult, dict[str, Any]]:
    """Write the inputs, run the pipeline and read back every report."""
    params = inputs.pop("params", None) or PipelineParams(report_date=report_date)
    data_dir = write_inputs(tmp_path / "data", **inputs)
    reports_dir = tmp_path / "reports"
    result = run_pipeline(data_dir, reports_dir, params)
    return result, read_reports(reports_dir)


def read_reports(reports_dir: Path) -> dict[str, Any]:
    def rows(name: str) -> list[dict[str, str]]:
        with (reports_dir / name).open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    def document(name: str) -> Any:
        return json.loads((reports_dir / name).read_text(encoding="utf-8"))

    return {
        "curated": rows("purchases_curated.csv"),
        "reconciliation": document("reconciliation.json"),
        "roas": document("roas_d1.json"),
        "anomaly": document("roas_anomaly.json"),
        "arpdau": document("arpdau_d1.json"),
        "rejected": rows("rejected_rows.csv"),
    }
