"""Reference implementation of the analytics pipeline contract (/work/shared/PIPELINE.md).

Plain Python (csv, json, decimal, datetime), one row at a time, written to be read next to the
contract rather than to be fast. It exists to check the polars pipeline (`analytics.pipeline`)
number for number: the fixture tests compare it with the hand-worked expected files, and the
cross-check tests compare the polars pipeline with it on generated adversarial data.

Assumptions where the contract leaves a choice (each one noted where it is applied):

* Rounding: money, ratios and seconds are computed exactly (``Decimal`` with 50 significant
  digits for divisions and the square root) and rounded half-to-even only when written. The
  contract fixes the number of decimals, not the rounding of ties; half-to-even is what polars'
  ``round`` does by default. ``compute`` keeps every figure unrounded so a comparison can accept
  either neighbour of an exact tie (ratios may be computed in float64 by the contract).
* ``rejected_rows.csv`` ``file`` is the input's name without extension (``purchases_raw``) and
  ``reason`` is a short text of this module's own vocabulary; the contract fixes neither text.
* Inputs are CSV (``NAME.csv`` or ``NAME.csv.gz``); parquet is not read here.
* AppsFlyer ``Event Time`` carries no zone (a zone suffix is rejected); gateway and session times
  accept ``Z`` or ``±HH:MM`` / ``±HHMM`` offsets and ``T`` or a space as separator.
* A decimal is ``[+-]?digits[.digits]``; anything else (including exponents) is unparseable.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal
from pathlib import Path
from typing import Any

INPUT_NAMES = ("purchases_raw", "confirmed_purchases", "costs_daily", "sessions")
REQUIRED_COLUMNS = {
    "purchases_raw": (
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
    ),
    "confirmed_purchases": (
        "transaction_id",
        "user_id",
        "event_time",
        "event_type",
        "amount",
        "currency",
        "amount_usd",
    ),
    "costs_daily": ("date", "media_source", "campaign", "cost_usd"),
    "sessions": ("user_id", "session_start", "media_source", "campaign"),
}
REPORT_FILES = (
    "purchases_curated.csv",
    "reconciliation.json",
    "roas_d1.json",
    "roas_anomaly.json",
    "arpdau_d1.json",
    "rejected_rows.csv",
)
CURATED_COLUMNS = (
    "event_time",
    "user_id",
    "appsflyer_id",
    "media_source",
    "campaign",
    "platform",
    "revenue",
    "currency",
    "revenue_usd",
    "order_id",
    "match_status",
    "transaction_id",
    "time_diff_seconds",
    "confirmed_usd",
    "reversed_usd",
    "net_usd",
)
EVENT_TYPES = ("purchase", "refund", "chargeback", "chargeback_reversal")
# Sign of a reversal in "money that left": refunds and chargebacks take money, a won dispute
# gives it back.
REVERSAL_SIGN = {"refund": 1, "chargeback": 1, "chargeback_reversal": -1}

_PRECISE = Context(prec=50)
ZERO = Decimal(0)
CENT = Decimal("0.01")
RATIO_UNIT = Decimal("0.0001")
MILLI = Decimal("0.001")

_AF_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?")
_ISO_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?"
)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DECIMAL = re.compile(r"[+-]?\d+(?:\.\d+)?")


class ReferenceInputError(Exception):
    """A missing or ambiguous input file, or a missing required column."""


@dataclass(frozen=True)
class Params:
    report_date: date
    window_minutes: int = 10
    anomaly_drop: Decimal = Decimal("0.30")
    anomaly_days: int = 7
    anomaly_min_days: int = 3
    anomaly_min_spend: Decimal = Decimal("1.00")


# --------------------------------------------------------------------------------------------
# Parsing


def _build_time(match: re.Match[str]) -> datetime | None:
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = (match.group(7) or "")[:6].ljust(6, "0")  # digits beyond 6 are truncated
    try:
        return datetime(year, month, day, hour, minute, second, int(fraction))
    except ValueError:
        return None


def parse_appsflyer_time(text: str) -> datetime | None:
    match = _AF_TIME.fullmatch(text)
    return _build_time(match) if match else None


def parse_iso_time(text: str) -> datetime | None:
    """ISO 8601 with optional zone; returned as naive UTC."""
    match = _ISO_TIME.fullmatch(text)
    if not match:
        return None
    moment = _build_time(match)
    zone = match.group(8)
    if moment is None or zone is None or zone == "Z":
        return moment
    sign = 1 if zone[0] == "+" else -1
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        return None
    return moment - sign * timedelta(hours=hours, minutes=minutes)


def parse_date(text: str) -> date | None:
    match = _DATE.fullmatch(text)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def parse_decimal(text: str) -> Decimal | None:
    return Decimal(text) if _DECIMAL.fullmatch(text) else None


def order_id_from_event_value(text: str) -> str | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    for key in ("af_order_id", "af_receipt_id"):
        candidate = value.get(key)
        if isinstance(candidate, bool):  # JSON true/false is not a number
            continue
        if isinstance(candidate, str) and candidate != "":
            return candidate
        if isinstance(candidate, int):
            return str(candidate)
    return None


def campaign_key(media_source: str, campaign: str) -> tuple[str, str]:
    if media_source in ("", "organic"):
        return ("organic", "")
    return (media_source, campaign)


def format_time(moment: datetime) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return text + "Z"


# --------------------------------------------------------------------------------------------
# Reading


def find_input(data_dir: Path, name: str) -> Path:
    candidates = [
        data_dir / f"{name}{suffix}"
        for suffix in (".csv", ".csv.gz", ".parquet")
        if (data_dir / f"{name}{suffix}").exists()
    ]
    if not candidates:
        raise ReferenceInputError(f"{name}: file missing in {data_dir}")
    if len(candidates) > 1:
        raise ReferenceInputError(f"{name}: ambiguous, several files: {candidates}")
    if candidates[0].suffix == ".parquet":
        raise ReferenceInputError(f"{name}: the reference reads CSV only")
    return candidates[0]


def read_records(path: Path, name: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and (line, row) records; line = record index + 2, the header being record 1."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        records = []
        for line, values in enumerate(reader, start=2):
            values = values + [""] * (len(header) - len(values))
            records.append((line, dict(zip(header, values, strict=False))))
    missing = [column for column in REQUIRED_COLUMNS[name] if column not in header]
    if missing:
        raise ReferenceInputError(f"{name}: missing column {missing[0]!r}")
    return header, records


# --------------------------------------------------------------------------------------------
# Row types


@dataclass
class AppsFlyerPurchase:
    line: int
    position: int  # file order among deduplicated purchases
    time: datetime
    user_id: str
    appsflyer_id: str
    campaign: tuple[str, str]
    platform: str
    revenue: Decimal
    currency: str
    revenue_usd: Decimal
    order_id: str | None


@dataclass
class GatewayRow:
    line: int
    transaction_id: str
    user_id: str
    time: datetime
    event_type: str
    amount: Decimal
    currency: str
    amount_usd: Decimal

    def values(self) -> tuple[Any, ...]:
        return (
            self.transaction_id,
            self.user_id,
            self.time,
            self.event_type,
            self.amount,
            self.currency,
            self.amount_usd,
        )


@dataclass
class Rejected:
    file: str
    line: int
    reason: str
    raw: dict[str, str]


# --------------------------------------------------------------------------------------------
# Validation (one reason per row: the first failing column in contract order)


def validate_appsflyer(row: dict[str, str]) -> str | tuple[datetime, Decimal, str, Decimal]:
    moment = parse_appsflyer_time(row["Event Time"])
    if moment is None:
        return "bad Event Time"
    revenue = parse_decimal(row["Event Revenue"])
    if revenue is None:
        return "bad Event Revenue"
    if revenue < 0:
        return "negative Event Revenue"
    currency = row["Event Revenue Currency"]
    if currency == "":
        return "empty Event Revenue Currency"
    revenue_usd = parse_decimal(row["Event Revenue USD"])
    if revenue_usd is None:
        return "bad Event Revenue USD"
    if revenue_usd < 0:
        return "negative Event Revenue USD"
    return moment, revenue, currency, revenue_usd


def validate_gateway(line: int, row: dict[str, str]) -> str | GatewayRow:
    if row["transaction_id"] == "":
        return "empty transaction_id"
    moment = parse_iso_time(row["event_time"])
    if moment is None:
        return "bad event_time"
    if row["event_type"] not in EVENT_TYPES:
        return "unknown event_type"
    amount = parse_decimal(row["amount"])
    if amount is None:
        return "bad amount"
    if amount <= 0:
        return "amount not positive"
    if row["currency"] == "":
        return "empty currency"
    amount_usd = parse_decimal(row["amount_usd"])
    if amount_usd is None:
        return "bad amount_usd"
    if amount_usd <= 0:
        return "amount_usd not positive"
    return GatewayRow(
        line,
        row["transaction_id"],
        row["user_id"],
        moment,
        row["event_type"],
        amount,
        row["currency"],
        amount_usd,
    )


# --------------------------------------------------------------------------------------------
# The pipeline


def _ratio(numerator: Decimal, denominator: Decimal | int) -> Decimal:
    return _PRECISE.divide(Decimal(numerator), Decimal(denominator))


def compute(data_dir: Path, params: Params) -> dict[str, Any]:
    """All six reports with exact (unrounded) figures; see `render` for the written form."""
    data_dir = Path(data_dir)
    loaded = {name: read_records(find_input(data_dir, name), name) for name in INPUT_NAMES}
    rejected: list[Rejected] = []

    # Step 1: curate AppsFlyer purchases.
    header, records = loaded["purchases_raw"]
    has_primary = "Is Primary Attribution" in header
    appsflyer_rows = non_primary = duplicates = 0
    purchases: list[AppsFlyerPurchase] = []
    seen_keys: set[tuple[Any, ...]] = set()
    for line, row in records:
        if row["Event Name"] != "af_purchase":
            continue
        appsflyer_rows += 1
        if has_primary and row["Is Primary Attribution"].strip().lower() == "false":
            non_primary += 1
            continue
        checked = validate_appsflyer(row)
        if isinstance(checked, str):
            rejected.append(Rejected("purchases_raw", line, checked, row))
            continue
        moment, revenue, currency, revenue_usd = checked
        order_id = order_id_from_event_value(row["Event Value"])
        if order_id is not None:
            key: tuple[Any, ...] = ("order", order_id)
        else:
            # Decimal values that are equal hash equally ("1.5" and "1.50" are one value).
            key = (
                "values",
                row["AppsFlyer ID"],
                row["Customer User ID"],
                moment,
                revenue,
                currency,
            )
        if key in seen_keys:
            duplicates += 1
            continue
        seen_keys.add(key)
        purchases.append(
            AppsFlyerPurchase(
                line=line,
                position=len(purchases),
                time=moment,
                user_id=row["Customer User ID"],
                appsflyer_id=row["AppsFlyer ID"],
                campaign=campaign_key(row["Media Source"], row["Campaign"]),
                platform=row["Platform"],
                revenue=revenue,
                currency=currency,
                revenue_usd=revenue_usd,
                order_id=order_id,
            )
        )

    # Step 2: gateway rows.
    _, records = loaded["confirmed_purchases"]
    kept: dict[tuple[Any, ...], GatewayRow] = {}
    lines_of: dict[tuple[Any, ...], list[tuple[int, dict[str, str]]]] = defaultdict(list)
    for line, row in records:
        checked_row = validate_gateway(line, row)
        if isinstance(checked_row, str):
            rejected.append(Rejected("confirmed_purchases", line, checked_row, row))
            continue
        values = checked_row.values()
        kept.setdefault(values, checked_row)
        lines_of[values].append((line, row))
    purchase_rows: dict[str, list[GatewayRow]] = defaultdict(list)
    reversal_rows: list[GatewayRow] = []
    for gateway_row in kept.values():
        if gateway_row.event_type == "purchase":
            purchase_rows[gateway_row.transaction_id].append(gateway_row)
        else:
            reversal_rows.append(gateway_row)
    gateway: dict[str, GatewayRow] = {}
    for transaction_id, rows in purchase_rows.items():
        if len(rows) == 1:
            gateway[transaction_id] = rows[0]
            continue
        for conflicting in rows:
            for line, row in lines_of[conflicting.values()]:
                rejected.append(Rejected("confirmed_purchases", line, "conflicting purchase", row))

    # Step 3: reconcile, by id then greedily by time.
    match_of: dict[int, tuple[GatewayRow, str]] = {}  # purchase position -> (gateway, status)
    taken: set[str] = set()
    for purchase in purchases:
        if purchase.order_id is not None and purchase.order_id in gateway:
            match_of[purchase.position] = (gateway[purchase.order_id], "matched_by_id")
            taken.add(purchase.order_id)
    window = timedelta(minutes=params.window_minutes)
    free_gateway = [g for t, g in gateway.items() if t not in taken]
    candidates = []
    for purchase in purchases:
        if purchase.position in match_of or purchase.user_id == "":
            continue
        for confirmation in free_gateway:
            if (
                confirmation.user_id == purchase.user_id
                and confirmation.currency == purchase.currency
                and abs(purchase.revenue - confirmation.amount) <= CENT
                and abs(confirmation.time - purchase.time) <= window
            ):
                candidates.append(
                    (
                        abs(confirmation.time - purchase.time),
                        purchase.time,
                        purchase.position,
                        confirmation.transaction_id,
                        purchase,
                        confirmation,
                    )
                )
    candidates.sort(key=lambda c: c[:4])
    for _, _, position, transaction_id, _, confirmation in candidates:
        if position in match_of or transaction_id in taken:
            continue
        match_of[position] = (confirmation, "matched_by_time")
        taken.add(transaction_id)

    # Step 4: reversals per purchase.
    raw_reversed: dict[str, Decimal] = defaultdict(Decimal)
    orphans = 0
    type_counts = {"refund": 0, "chargeback": 0, "chargeback_reversal": 0}
    for reversal in reversal_rows:
        type_counts[reversal.event_type] += 1
        if reversal.transaction_id not in gateway:
            orphans += 1
            continue
        sign = REVERSAL_SIGN[reversal.event_type]
        raw_reversed[reversal.transaction_id] += sign * reversal.amount_usd
    reversed_of = {t: min(max(raw_reversed[t], ZERO), g.amount_usd) for t, g in gateway.items()}

    curated = []
    for purchase in purchases:
        matched = match_of.get(purchase.position)
        row: dict[str, Any] = {
            "event_time": format_time(purchase.time),
            "user_id": purchase.user_id,
            "appsflyer_id": purchase.appsflyer_id,
            "media_source": purchase.campaign[0],
            "campaign": purchase.campaign[1],
            "platform": purchase.platform,
            "revenue": purchase.revenue,
            "currency": purchase.currency,
            "revenue_usd": purchase.revenue_usd,
            "order_id": purchase.order_id or "",
            "match_status": "unmatched",
            "transaction_id": "",
            "time_diff_seconds": None,
            "confirmed_usd": ZERO,
            "reversed_usd": ZERO,
            "net_usd": ZERO,
        }
        if matched:
            confirmation, status = matched
            difference = confirmation.time - purchase.time
            reversed_usd = reversed_of[confirmation.transaction_id]
            row.update(
                match_status=status,
                transaction_id=confirmation.transaction_id,
                time_diff_seconds=Decimal(difference.days * 86400 + difference.seconds)
                + Decimal(difference.microseconds) / 1_000_000,
                confirmed_usd=confirmation.amount_usd,
                reversed_usd=reversed_usd,
                net_usd=confirmation.amount_usd - reversed_usd,
            )
        curated.append(row)

    matched_ids = {confirmation.transaction_id for confirmation, _ in match_of.values()}
    by_id = sum(1 for _, status in match_of.values() if status == "matched_by_id")
    unmatched_gateway = [g for t, g in gateway.items() if t not in matched_ids]
    matched_count = len(match_of)

    # Step 5: activity-view daily revenue.
    campaign_of_transaction = {
        match_of[p.position][0].transaction_id: p.campaign
        for p in purchases
        if p.position in match_of
    }
    gross: dict[tuple[date, tuple[str, str]], Decimal] = defaultdict(Decimal)
    reversed_daily: dict[tuple[date, tuple[str, str]], Decimal] = defaultdict(Decimal)
    unattributed: dict[date, Decimal] = defaultdict(Decimal)
    for purchase in purchases:
        if purchase.position in match_of:
            confirmation = match_of[purchase.position][0]
            gross[(purchase.time.date(), purchase.campaign)] += confirmation.amount_usd
    for confirmation in unmatched_gateway:
        unattributed[confirmation.time.date()] += confirmation.amount_usd
    for reversal in reversal_rows:
        if reversal.transaction_id not in gateway:
            continue  # orphan: changes no revenue
        signed = REVERSAL_SIGN[reversal.event_type] * reversal.amount_usd  # not clamped
        day = reversal.time.date()
        if reversal.transaction_id in campaign_of_transaction:
            key_day = (day, campaign_of_transaction[reversal.transaction_id])
            reversed_daily[key_day] += signed
        else:
            unattributed[day] -= signed
    attributed_keys = set(gross) | set(reversed_daily)

    # Step 6: ROAS.
    _, records = loaded["costs_daily"]
    costs: dict[tuple[date, tuple[str, str]], Decimal] = {}
    for line, row in records:
        day = parse_date(row["date"])
        if day is None:
            rejected.append(Rejected("costs_daily", line, "bad date", row))
            continue
        cost = parse_decimal(row["cost_usd"])
        if cost is None:
            rejected.append(Rejected("costs_daily", line, "bad cost_usd", row))
            continue
        if cost < 0:
            rejected.append(Rejected("costs_daily", line, "negative cost_usd", row))
            continue
        costs[(day, campaign_key(row["media_source"], row["campaign"]))] = cost  # last wins

    roas_table: dict[tuple[date, tuple[str, str]], dict[str, Any]] = {}
    for key in set(costs) | attributed_keys:
        cost = costs.get(key, ZERO)
        revenue = gross[key] - reversed_daily[key]
        roas_table[key] = {
            "media_source": key[1][0],
            "campaign": key[1][1],
            "cost_usd": cost,
            "gross_revenue_usd": gross[key],
            "reversed_usd": reversed_daily[key],
            "revenue_usd": revenue,
            "roas": _ratio(revenue, cost) if cost != 0 else None,
        }
    day_d = params.report_date
    roas_d1 = sorted(
        (entry for key, entry in roas_table.items() if key[0] == day_d),
        key=lambda e: (e["media_source"], e["campaign"]),
    )

    # Step 7: anomalies on D.
    anomalies = []
    for entry in roas_d1:
        cost_d = entry["cost_usd"]
        if cost_d <= 0 or cost_d < params.anomaly_min_spend:
            continue
        campaign = (entry["media_source"], entry["campaign"])
        baseline = []
        for back in range(1, params.anomaly_days + 1):
            past = roas_table.get((day_d - timedelta(days=back), campaign))
            if past is not None and past["cost_usd"] > 0:
                baseline.append(past)
        if len(baseline) < params.anomaly_min_days or not baseline:
            continue
        baseline_roas = _ratio(
            sum((b["revenue_usd"] for b in baseline), ZERO),
            sum((b["cost_usd"] for b in baseline), ZERO),
        )
        if baseline_roas <= 0:
            continue
        roas_d = entry["roas"]
        drop = 1 - _ratio(roas_d, baseline_roas)
        if drop < params.anomaly_drop:
            continue
        daily = [b["roas"] for b in baseline]
        mean = _ratio(sum(daily, ZERO), len(daily))
        std = z = None
        if len(daily) > 1:
            variance = _ratio(sum(((x - mean) ** 2 for x in daily), ZERO), len(daily) - 1)
            std = variance.sqrt(_PRECISE)
            z = _ratio(roas_d - mean, std) if std >= Decimal("1e-9") else None
        anomalies.append(
            {
                "media_source": entry["media_source"],
                "campaign": entry["campaign"],
                "roas": roas_d,
                "baseline_roas": baseline_roas,
                "baseline_days": len(baseline),
                "drop": drop,
                "mean": mean,
                "std": std,
                "z": z,
                "cost_usd": cost_d,
                "revenue_usd": entry["revenue_usd"],
            }
        )

    # Step 8: ARPDAU on D.
    _, records = loaded["sessions"]
    players: dict[tuple[str, str], set[str]] = defaultdict(set)
    players_of_day: set[str] = set()
    for line, row in records:
        if row["user_id"] == "":
            rejected.append(Rejected("sessions", line, "empty user_id", row))
            continue
        start = parse_iso_time(row["session_start"])
        if start is None:
            rejected.append(Rejected("sessions", line, "bad session_start", row))
            continue
        if start.date() == day_d:
            players[campaign_key(row["media_source"], row["campaign"])].add(row["user_id"])
            players_of_day.add(row["user_id"])
    arpdau_campaigns = []
    for campaign in sorted(set(players) | {k[1] for k in attributed_keys if k[0] == day_d}):
        key = (day_d, campaign)
        revenue = gross[key] - reversed_daily[key]
        dau = len(players[campaign])
        arpdau_campaigns.append(
            {
                "media_source": campaign[0],
                "campaign": campaign[1],
                "revenue_usd": revenue,
                "dau": dau,
                "arpdau": _ratio(revenue, dau) if dau else None,
            }
        )
    total_revenue = (
        sum((gross[k] - reversed_daily[k] for k in attributed_keys if k[0] == day_d), ZERO)
        + unattributed[day_d]
    )
    total_dau = len(players_of_day)

    order = {name: index for index, name in enumerate(INPUT_NAMES)}
    rejected.sort(key=lambda r: (order[r.file], r.line))
    appsflyer_rejected = sum(1 for r in rejected if r.file == "purchases_raw")
    assert appsflyer_rows - non_primary - appsflyer_rejected - duplicates == len(purchases)

    reconciliation = {
        "window_minutes": params.window_minutes,
        "appsflyer_rows": appsflyer_rows,
        "non_primary_dropped": non_primary,
        "duplicates_removed": duplicates,
        "appsflyer_purchases": len(purchases),
        "gateway_purchases": len(gateway),
        "matched": matched_count,
        "matched_by_id": by_id,
        "matched_by_time": matched_count - by_id,
        "unmatched_appsflyer": len(purchases) - matched_count,
        "unmatched_gateway": len(unmatched_gateway),
        "match_rate": _ratio(matched_count, len(purchases)) if purchases else None,
        "revenue_usd": {
            "appsflyer": sum((p.revenue_usd for p in purchases), ZERO),
            "confirmed": sum((g.amount_usd for g in gateway.values()), ZERO),
            "reversed": sum(reversed_of.values(), ZERO),
            "net": sum((g.amount_usd - reversed_of[t] for t, g in gateway.items()), ZERO),
            "unattributed": sum(
                (g.amount_usd - reversed_of[g.transaction_id] for g in unmatched_gateway), ZERO
            ),
            "unconfirmed": sum(
                (p.revenue_usd for p in purchases if p.position not in match_of), ZERO
            ),
        },
        "refunds": type_counts["refund"],
        "chargebacks": type_counts["chargeback"],
        "chargeback_reversals": type_counts["chargeback_reversal"],
        "orphan_reversals": orphans,
        "rejected_rows": len(rejected),
    }
    return {
        "purchases_curated": curated,
        "reconciliation": reconciliation,
        "roas_d1": {"date": day_d.isoformat(), "campaigns": roas_d1},
        "roas_anomaly": {
            "date": day_d.isoformat(),
            "rule": {
                "days": params.anomaly_days,
                "min_days": params.anomaly_min_days,
                "drop": params.anomaly_drop,
                "min_spend": params.anomaly_min_spend,
            },
            "anomalies": anomalies,
        },
        "arpdau_d1": {
            "date": day_d.isoformat(),
            "total": {
                "revenue_usd": total_revenue,
                "dau": total_dau,
                "arpdau": _ratio(total_revenue, total_dau) if total_dau else None,
            },
            "campaigns": arpdau_campaigns,
        },
        "rejected_rows": [
            {"file": r.file, "line": r.line, "reason": r.reason, "raw": r.raw} for r in rejected
        ],
    }


# --------------------------------------------------------------------------------------------
# Field kinds: how each figure is rounded, written and compared

MONEY, RATIO, SECONDS, COUNT, TEXT = "money", "ratio", "seconds", "count", "text"
UNITS = {MONEY: CENT, RATIO: RATIO_UNIT, SECONDS: MILLI}

CURATED_KINDS = {
    **dict.fromkeys(CURATED_COLUMNS, TEXT),
    "revenue": MONEY,
    "revenue_usd": MONEY,
    "time_diff_seconds": SECONDS,
    "confirmed_usd": MONEY,
    "reversed_usd": MONEY,
    "net_usd": MONEY,
}
RECONCILIATION_KINDS: dict[str, Any] = {
    **dict.fromkeys(
        (
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
        ),
        COUNT,
    ),
    "match_rate": RATIO,
    "revenue_usd": dict.fromkeys(
        ("appsflyer", "confirmed", "reversed", "net", "unattributed", "unconfirmed"), MONEY
    ),
}
ROAS_KINDS = {
    "date": TEXT,
    "campaigns": [
        {
            "media_source": TEXT,
            "campaign": TEXT,
            "cost_usd": MONEY,
            "gross_revenue_usd": MONEY,
            "reversed_usd": MONEY,
            "revenue_usd": MONEY,
            "roas": RATIO,
        }
    ],
}
ANOMALY_KINDS = {
    "date": TEXT,
    "rule": {"days": COUNT, "min_days": COUNT, "drop": RATIO, "min_spend": MONEY},
    "anomalies": [
        {
            "media_source": TEXT,
            "campaign": TEXT,
            "roas": RATIO,
            "baseline_roas": RATIO,
            "baseline_days": COUNT,
            "drop": RATIO,
            "mean": RATIO,
            "std": RATIO,
            "z": RATIO,
            "cost_usd": MONEY,
            "revenue_usd": MONEY,
        }
    ],
}
ARPDAU_KINDS = {
    "date": TEXT,
    "total": {"revenue_usd": MONEY, "dau": COUNT, "arpdau": RATIO},
    "campaigns": [
        {
            "media_source": TEXT,
            "campaign": TEXT,
            "revenue_usd": MONEY,
            "dau": COUNT,
            "arpdau": RATIO,
        }
    ],
}
JSON_KINDS = {
    "reconciliation": RECONCILIATION_KINDS,
    "roas_d1": ROAS_KINDS,
    "roas_anomaly": ANOMALY_KINDS,
    "arpdau_d1": ARPDAU_KINDS,
}


def round_half_even(value: Decimal, kind: str) -> Decimal:
    return value.quantize(UNITS[kind], rounding=ROUND_HALF_EVEN)


def _render_json(value: Any, kinds: Any) -> Any:
    if isinstance(kinds, dict):
        return {key: _render_json(value[key], kinds[key]) for key in value}
    if isinstance(kinds, list):
        return [_render_json(item, kinds[0]) for item in value]
    if value is None or kinds in (COUNT, TEXT):
        return value
    return round_half_even(value, kinds)


def _csv_cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind in UNITS:
        return str(round_half_even(value, kind))
    return str(value)


class _DecimalEncoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return float(o)
        return super().default(o)


def write_reports(result: dict[str, Any], reports_dir: Path) -> None:
    """Write the six report files, figures rounded half-to-even."""
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    with open(reports_dir / "purchases_curated.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(CURATED_COLUMNS)
        for row in result["purchases_curated"]:
            writer.writerow(_csv_cell(row[c], CURATED_KINDS[c]) for c in CURATED_COLUMNS)
    for name, kinds in JSON_KINDS.items():
        rendered = _render_json(result[name], kinds)
        text = json.dumps(rendered, cls=_DecimalEncoder, indent=2, ensure_ascii=False)
        (reports_dir / f"{name}.json").write_text(text + "\n", encoding="utf-8")
    with open(reports_dir / "rejected_rows.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("file", "line", "reason", "raw"))
        for row in result["rejected_rows"]:
            raw = json.dumps(row["raw"], ensure_ascii=False)
            writer.writerow((row["file"], row["line"], row["reason"], raw))


def run_reference(data_dir: Path, reports_dir: Path, params: Params) -> dict[str, Any]:
    result = compute(data_dir, params)
    write_reports(result, reports_dir)
    return result


# --------------------------------------------------------------------------------------------
# Comparing a reports dir with expected files or with exact figures


def load_reports(reports_dir: Path) -> dict[str, Any]:
    """The six files of a reports dir; CSV cells as text, JSON numbers as Decimal."""
    reports_dir = Path(reports_dir)
    loaded: dict[str, Any] = {}
    for name in ("purchases_curated", "rejected_rows"):
        with open(reports_dir / f"{name}.csv", encoding="utf-8", newline="") as f:
            loaded[name] = list(csv.DictReader(f))
    for name in JSON_KINDS:
        loaded[name] = load_json(reports_dir / f"{name}.json")
    return loaded


def load_json(path: Path) -> Any:
    return json.loads(
        Path(path).read_text(encoding="utf-8"), parse_float=Decimal, parse_int=Decimal
    )


def diff_json(name: str, actual: Any, wanted: Any, *, exact: bool) -> list[str]:
    """Differences in one JSON report (`name` without extension, e.g. ``roas_anomaly``)."""
    errors: list[str] = []
    _compare_value(name, actual, wanted, JSON_KINDS[name], exact, errors)
    return errors


def _as_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, str)):
        return Decimal(value)
    return Decimal(repr(value))


def _rounding_ok(actual: Decimal, wanted: Decimal, kind: str, exact: bool) -> bool:
    """`actual` equals `wanted` rounded; with exact figures, either neighbour of a tie is fine."""
    unit = UNITS[kind]
    if not exact:
        return actual == wanted
    if actual != actual.quantize(unit) and actual != round_half_even(actual, kind):
        return False
    # Within half a unit (plus float noise for ratios computed in float64).
    slack = unit / 2 + (Decimal("1e-9") * max(Decimal(1), abs(wanted)) if kind == RATIO else 0)
    return abs(actual - wanted) <= slack


def _compare_value(
    path: str, actual: Any, wanted: Any, kind: Any, exact: bool, errors: list[str]
) -> None:
    if isinstance(kind, dict):
        if not isinstance(actual, dict):
            errors.append(f"{path}: expected an object, got {actual!r}")
            return
        for key in sorted(set(kind) | set(wanted) | set(actual)):
            if key not in actual or key not in wanted:
                where = "missing" if key not in actual else "unexpected"
                errors.append(f"{path}.{key}: {where} key")
                continue
            _compare_value(f"{path}.{key}", actual[key], wanted[key], kind.get(key), exact, errors)
        return
    if isinstance(kind, list):
        if not isinstance(actual, list):
            errors.append(f"{path}: expected a list, got {actual!r}")
            return
        if len(actual) != len(wanted):
            errors.append(f"{path}: {len(actual)} items, expected {len(wanted)}")
            wanted_keys = [(w.get("media_source"), w.get("campaign")) for w in wanted]
            actual_keys = [(a.get("media_source"), a.get("campaign")) for a in actual]
            errors.append(f"{path}: expected keys {wanted_keys}, got {actual_keys}")
        for index, (a, w) in enumerate(zip(actual, wanted, strict=False)):
            _compare_value(f"{path}[{index}]", a, w, kind[0], exact, errors)
        return
    if kind == TEXT:
        if actual != wanted:
            errors.append(f"{path}: got {actual!r}, expected {wanted!r}")
        return
    if kind == COUNT:
        if _as_decimal(actual) != _as_decimal(wanted) or (
            isinstance(actual, Decimal) and actual != actual.to_integral_value()
        ):
            errors.append(f"{path}: got {actual!r}, expected {wanted!r}")
        return
    a, w = _as_decimal(actual), _as_decimal(wanted)
    if a is None or w is None:
        if a is not w:
            errors.append(f"{path}: got {actual!r}, expected {wanted!r}")
        return
    if not _rounding_ok(a, w, kind, exact):
        errors.append(f"{path}: got {actual!r}, expected {wanted!r}")


def diff_reports(
    actual: dict[str, Any], wanted: dict[str, Any], *, exact: bool, exact_reason: bool = True
) -> list[str]:
    """Differences between loaded reports `actual` and `wanted`, one readable line each.

    `wanted` is either loaded expected files (``exact=False``: figures must be equal) or the
    unrounded result of `compute` (``exact=True``: figures must be a correct rounding).
    `exact_reason` is passed on to `diff_rejected`.
    """
    errors: list[str] = []
    curated_a, curated_w = actual["purchases_curated"], wanted["purchases_curated"]
    if len(curated_a) != len(curated_w):
        errors.append(f"purchases_curated: {len(curated_a)} rows, expected {len(curated_w)}")
    for index, (a, w) in enumerate(zip(curated_a, curated_w, strict=False)):
        if list(a) != list(CURATED_COLUMNS):
            errors.append(f"purchases_curated: columns {list(a)}")
            break
        for column in CURATED_COLUMNS:
            _compare_value(
                f"purchases_curated[{index}] ({w['event_time']}, {w['order_id']}).{column}",
                a[column],
                w[column],
                CURATED_KINDS[column],
                exact,
                errors,
            )
    for name in JSON_KINDS:
        errors.extend(diff_json(name, actual[name], wanted[name], exact=exact))
    errors.extend(
        diff_rejected(actual["rejected_rows"], wanted["rejected_rows"], exact_reason=exact_reason)
    )
    return errors


def diff_rejected(
    actual: list[dict[str, Any]], wanted: list[dict[str, Any]], *, exact_reason: bool
) -> list[str]:
    """Rejected rows must agree on file, line and raw; reasons exactly, or consistently.

    With ``exact_reason=False`` the reason texts may use another vocabulary, but every row that
    shares a reason here must share one there (the same kind of fault gets the same reason).
    """
    errors = []
    positions_a = [(r["file"], int(r["line"])) for r in actual]
    positions_w = [(r["file"], int(r["line"])) for r in wanted]
    if positions_a != positions_w:
        errors.append(
            f"rejected_rows: rows {positions_a}, expected {positions_w}; "
            f"missing {sorted(set(positions_w) - set(positions_a))}, "
            f"extra {sorted(set(positions_a) - set(positions_w))}"
        )
        return errors
    vocabulary: dict[str, str] = {}
    for a, w in zip(actual, wanted, strict=True):
        where = f"rejected_rows {a['file']}:{a['line']}"
        raw_a = a["raw"] if isinstance(a["raw"], dict) else json.loads(a["raw"])
        raw_w = w["raw"] if isinstance(w["raw"], dict) else json.loads(w["raw"])
        if raw_a != raw_w:
            errors.append(f"{where}: raw {raw_a!r}, expected {raw_w!r}")
        if not a["reason"]:
            errors.append(f"{where}: empty reason")
        elif exact_reason and a["reason"] != w["reason"]:
            errors.append(f"{where}: reason {a['reason']!r}, expected {w['reason']!r}")
        elif vocabulary.setdefault(w["reason"], a["reason"]) != a["reason"]:
            errors.append(
                f"{where}: reason {a['reason']!r} but rows with expected reason "
                f"{w['reason']!r} elsewhere got {vocabulary[w['reason']]!r}"
            )
    return errors
