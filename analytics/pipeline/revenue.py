"""Steps 4-8: reversals, activity-view daily revenue, ROAS, anomalies and ARPDAU.

Money stays in ``Int64`` micro-units throughout; only ratios are float64.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from pathlib import Path

import polars as pl

from .gateway import CHARGEBACK_REVERSAL, PURCHASE
from .inputs import (
    COSTS,
    LINE,
    REJECTED_SCHEMA,
    SESSIONS,
    Header,
    rejected_frame,
    rows_by_line,
)
from .parsing import (
    MICROS_PER_UNIT,
    UTC_TIME_PATTERN,
    calendar_date,
    campaign_key,
    date_prefix,
    decimal_micros,
    iso_day,
    media_source_key,
)

CAMPAIGN = ["media_source", "campaign"]
DAY_CAMPAIGN = ["date", "media_source", "campaign"]


# --------------------------------------------------------------------------------------------
# Step 4: reversals per purchase


def signed_reversals(reversals: pl.DataFrame) -> pl.DataFrame:
    """Reversal rows with `signed_micros`: money that left (a won dispute is negative)."""
    sign = pl.when(pl.col("event_type") == CHARGEBACK_REVERSAL).then(-1).otherwise(1)
    return reversals.with_columns((sign * pl.col("amount_usd_micros")).alias("signed_micros"))


def reversed_per_purchase(purchases: pl.DataFrame, reversals: pl.DataFrame) -> pl.DataFrame:
    """Per gateway purchase: raw_reversed, reversed (clamped to [0, amount_usd]) and net."""
    raw = (
        signed_reversals(reversals)
        .group_by("transaction_id")
        .agg(pl.col("signed_micros").sum().alias("raw_reversed_micros"))
    )
    return (
        purchases.select("gw_idx", "transaction_id", "amount_usd_micros")
        .join(raw, on="transaction_id", how="left")
        .with_columns(pl.col("raw_reversed_micros").fill_null(0))
        .with_columns(
            pl.col("raw_reversed_micros")
            .clip(0, pl.col("amount_usd_micros"))
            .alias("reversed_micros")
        )
        .with_columns((pl.col("amount_usd_micros") - pl.col("reversed_micros")).alias("net_micros"))
    )


def orphan_reversals(purchases: pl.DataFrame, reversals: pl.DataFrame) -> pl.DataFrame:
    """Reversals whose transaction id has no valid gateway purchase."""
    return reversals.join(purchases.select("transaction_id"), on="transaction_id", how="anti")


# --------------------------------------------------------------------------------------------
# Step 5: activity-view daily revenue


@dataclass(frozen=True)
class DailyRevenue:
    """`attributed`: date, media_source, campaign, gross_micros, reversed_micros, revenue_micros
    (matched purchases only, by the AppsFlyer row's campaign). `unattributed`: date,
    revenue_micros (unmatched gateway purchases net of their reversals, activity view)."""

    attributed: pl.DataFrame
    unattributed: pl.DataFrame


def daily_revenue(
    purchases: pl.DataFrame,
    gateway: pl.DataFrame,
    matches: pl.DataFrame,
    reversals: pl.DataFrame,
) -> DailyRevenue:
    """A purchase counts on its AppsFlyer day (gateway day when unmatched); a reversal counts in
    full, with its sign, on its own day, under its purchase's campaign."""
    # `af_pos` and `gw_idx` are row positions: the matched rows are gathered, not joined.
    matched_gw = matches.get_column("gw_idx")
    matched = (
        purchases.select("event_time", *CAMPAIGN)
        .select(pl.all().gather(matches.get_column("af_pos")))
        .hstack(
            gateway.select("transaction_id", "amount_usd_micros")
            .select(pl.all().gather(matched_gw))
            .get_columns()
        )
    )
    gross = matched.group_by(pl.col("event_time").dt.date().alias("date"), *CAMPAIGN).agg(
        pl.col("amount_usd_micros").sum().alias("gross_micros")
    )
    valid_reversals = signed_reversals(reversals).join(
        gateway.select("transaction_id"), on="transaction_id", how="semi"
    )
    attributed_reversals = valid_reversals.join(
        matched.select("transaction_id", *CAMPAIGN), on="transaction_id"
    )
    reversed_daily = attributed_reversals.group_by(
        pl.col("event_time").dt.date().alias("date"), *CAMPAIGN
    ).agg(pl.col("signed_micros").sum().alias("reversed_micros"))
    attributed = (
        gross.join(reversed_daily, on=DAY_CAMPAIGN, how="full", coalesce=True)
        .with_columns(pl.col("gross_micros").fill_null(0), pl.col("reversed_micros").fill_null(0))
        .with_columns((pl.col("gross_micros") - pl.col("reversed_micros")).alias("revenue_micros"))
        .sort(DAY_CAMPAIGN)
    )

    unmatched = gateway.filter(
        pl.repeat(True, gateway.height, dtype=pl.Boolean, eager=True).scatter(matched_gw, False)
    )
    unattributed = (
        pl.concat(
            [
                unmatched.select(
                    pl.col("event_time").dt.date().alias("date"),
                    pl.col("amount_usd_micros").alias("revenue_micros"),
                ),
                valid_reversals.join(
                    unmatched.select("transaction_id"), on="transaction_id", how="semi"
                ).select(
                    pl.col("event_time").dt.date().alias("date"),
                    (-pl.col("signed_micros")).alias("revenue_micros"),
                ),
            ]
        )
        .group_by("date")
        .agg(pl.col("revenue_micros").sum())
        .sort("date")
    )
    return DailyRevenue(attributed=attributed, unattributed=unattributed)


# --------------------------------------------------------------------------------------------
# Step 6: costs and ROAS


def check_costs(raw: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    parsed = raw.lazy().with_columns(
        calendar_date("date").alias("_date"), decimal_micros("cost_usd").alias("cost_micros")
    )
    reason = (
        pl.when(pl.col("_date").is_null())
        .then(pl.lit("bad date"))
        .when(pl.col("cost_micros").is_null())
        .then(pl.lit("bad cost_usd"))
        .when(pl.col("cost_micros") < 0)
        .then(pl.lit("negative cost_usd"))
    )
    return parsed.with_columns(reason.alias("reason"))


def latest_costs(
    raw: pl.DataFrame | pl.LazyFrame, header: Header
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(costs, rejected): per (date, campaign) the last valid row in file order (restatements)."""
    checked = check_costs(raw).collect()
    rejected = rejected_frame(COSTS, checked.filter(pl.col("reason").is_not_null()), header)
    costs = (
        checked.filter(pl.col("reason").is_null())
        .select(
            LINE,
            pl.col("_date").alias("date"),
            media_source_key("media_source").alias("media_source"),
            campaign_key("media_source", "campaign").alias("campaign"),
            "cost_micros",
        )
        .sort(LINE)
        .unique(subset=DAY_CAMPAIGN, keep="last", maintain_order=True)
        .drop(LINE)
        .sort(DAY_CAMPAIGN)
    )
    return costs, rejected


def roas_daily(costs: pl.DataFrame, attributed: pl.DataFrame) -> pl.DataFrame:
    """Every (day, campaign) with a cost row or attributed revenue: date, media_source, campaign,
    cost_micros, gross_micros, reversed_micros, revenue_micros, roas (null when cost is 0)."""
    return (
        costs.join(attributed, on=DAY_CAMPAIGN, how="full", coalesce=True)
        .with_columns(
            pl.col(c).fill_null(0)
            for c in ("cost_micros", "gross_micros", "reversed_micros", "revenue_micros")
        )
        .with_columns(
            pl.when(pl.col("cost_micros") > 0)
            .then(pl.col("revenue_micros") / pl.col("cost_micros"))
            .alias("roas")
        )
        .select(
            *DAY_CAMPAIGN,
            "cost_micros",
            "gross_micros",
            "reversed_micros",
            "revenue_micros",
            "roas",
        )
        .sort(DAY_CAMPAIGN)
    )


# --------------------------------------------------------------------------------------------
# Step 7: anomalies


@dataclass(frozen=True)
class AnomalyRule:
    days: int
    min_days: int
    drop: float
    min_spend: Decimal


def anomaly_candidates(
    roas: pl.DataFrame, report_date: datetime.date, rule: AnomalyRule
) -> pl.DataFrame:
    """Campaigns spending on D with enough baseline days, with the baseline's exact sums.

    Returns media_source, campaign, cost_micros, revenue_micros (on D), baseline_days,
    baseline_cost_micros, baseline_revenue_micros, baseline_roas_values (list of daily ROAS
    floats, oldest first); the ratio arithmetic is done by `anomalies` on these exact sums.
    """
    min_spend_micros = int(
        (rule.min_spend * MICROS_PER_UNIT).to_integral_value(rounding=ROUND_CEILING)
    )
    today = roas.filter(
        (pl.col("date") == report_date)
        & (pl.col("cost_micros") > 0)
        & (pl.col("cost_micros") >= min_spend_micros)
    ).select(*CAMPAIGN, "cost_micros", "revenue_micros")
    first_day = report_date - datetime.timedelta(days=rule.days)
    baseline = roas.filter(
        (pl.col("date") >= first_day) & (pl.col("date") < report_date) & (pl.col("cost_micros") > 0)
    )
    per_campaign = (
        baseline.sort("date")
        .group_by(CAMPAIGN)
        .agg(
            pl.len().alias("baseline_days"),
            pl.col("cost_micros").sum().alias("baseline_cost_micros"),
            pl.col("revenue_micros").sum().alias("baseline_revenue_micros"),
            pl.struct("revenue_micros", "cost_micros").alias("baseline_daily"),
        )
    )
    return (
        today.join(per_campaign, on=CAMPAIGN, how="inner")
        .filter(pl.col("baseline_days") >= max(rule.min_days, 1))
        .sort(CAMPAIGN)
    )


def _ratio(numerator: int, denominator: int) -> Decimal:
    return Decimal(numerator) / Decimal(denominator)


def anomalies(
    roas: pl.DataFrame, report_date: datetime.date, rule: AnomalyRule
) -> list[dict[str, object]]:
    """Anomalous campaigns on D, sorted by media source then campaign, with exact figures:
    ratios as ``Decimal`` (28 significant digits), money in micro-units, std/z None when
    undefined. Only a handful of campaigns reach this point, so the arithmetic is plain Python.
    """
    found: list[dict[str, object]] = []
    for row in anomaly_candidates(roas, report_date, rule).iter_rows(named=True):
        baseline_roas = _ratio(row["baseline_revenue_micros"], row["baseline_cost_micros"])
        if baseline_roas <= 0:
            continue
        roas_d = _ratio(row["revenue_micros"], row["cost_micros"])
        drop = 1 - roas_d / baseline_roas
        if drop < Decimal(str(rule.drop)):
            continue
        daily = [_ratio(d["revenue_micros"], d["cost_micros"]) for d in row["baseline_daily"]]
        mean = sum(daily, Decimal(0)) / len(daily)
        std: Decimal | None = None
        z: Decimal | None = None
        if len(daily) > 1:
            std = (sum(((x - mean) ** 2 for x in daily), Decimal(0)) / (len(daily) - 1)).sqrt()
            z = (roas_d - mean) / std if std >= Decimal("1e-9") else None
        found.append(
            {
                "media_source": row["media_source"],
                "campaign": row["campaign"],
                "roas": roas_d,
                "baseline_roas": baseline_roas,
                "baseline_days": row["baseline_days"],
                "drop": drop,
                "mean": mean,
                "std": std,
                "z": z,
                "cost_micros": row["cost_micros"],
                "revenue_micros": row["revenue_micros"],
            }
        )
    return found


# --------------------------------------------------------------------------------------------
# Step 8: sessions and ARPDAU


def check_sessions(lazy: pl.LazyFrame) -> pl.LazyFrame:
    """Parsed sessions plus `reason`; the user id is checked first, then the start time."""
    user = pl.col("user_id").fill_null("")
    start = iso_day("session_start")
    reason = (
        pl.when(user == "")
        .then(pl.lit("empty user_id"))
        .when(start.is_null())
        .then(pl.lit("bad session_start"))
    )
    return lazy.with_columns(start.alias("_date"), reason.alias("reason"), user.alias("_user"))


@dataclass(frozen=True)
class ActivePlayers:
    """`by_campaign`: date, media_source, campaign, dau. `by_day`: date, dau (distinct users)."""

    by_campaign: pl.DataFrame
    by_day: pl.DataFrame
    rejected: pl.DataFrame


_USER_KEY = "_user_key"
_KEYED = [*DAY_CAMPAIGN, _USER_KEY]


def _user_key(user: pl.Expr) -> pl.Expr:
    """A 64-bit hash of the user id: distinct counts on it are exact as long as no two distinct
    user ids share a key, which `active_players` verifies on every run."""
    return user.hash(seed=0x5EED).alias(_USER_KEY)


def _count_players(narrow: pl.LazyFrame) -> list[pl.LazyFrame]:
    """Distinct user keys per (day, attribution) and per day; the attribution as categorical
    codes (exact: one code per text), so no query holds or hashes the campaign text per row."""
    return [
        narrow.group_by(DAY_CAMPAIGN).agg(pl.col(_USER_KEY).n_unique().cast(pl.Int64).alias("dau")),
        narrow.group_by("date").agg(pl.col(_USER_KEY).n_unique().cast(pl.Int64).alias("dau")),
    ]


def _add_new_players(
    counts: pl.DataFrame, keys: list[str], known: pl.DataFrame, extra: pl.DataFrame
) -> pl.DataFrame:
    """`counts` (per `keys`) plus the (keys, user) pairs of `extra` that are not in `known`."""
    pairs = [*keys, _USER_KEY]
    new = (
        extra.select(pairs)
        .unique()
        .join(known.select(pairs).unique(), on=pairs, how="anti", nulls_equal=True)
        .group_by(keys)
        .agg(pl.len().cast(pl.Int64).alias("new"))
    )
    return (
        counts.join(new, on=keys, how="full", coalesce=True)
        .with_columns((pl.col("dau").fill_null(0) + pl.col("new").fill_null(0)).alias("dau"))
        .drop("new")
    )


def active_players(
    sessions: pl.LazyFrame, header: Header, path: Path | None = None
) -> ActivePlayers:
    """Distinct players per day and attribution, and per day.

    One streaming pass counts the sessions whose start has no UTC offset (the common shape),
    whose day is its first ten characters, with users as 64-bit keys and the attribution as
    categorical codes; it also returns the line numbers of every other row and the number of
    distinct user ids and of distinct keys. When those two differ (a hash collision)
    everything is recounted on the user ids themselves. The pass keeps no text but the user
    id: the few other rows are read back by line, in full. With an offset their day comes
    from the full ISO parser and their players are added to the counts exactly (only players
    not already counted under the same day and attribution); otherwise they are rejected. The
    largest input is never held whole in memory.
    """
    user = pl.col("user_id").fill_null("")
    start = pl.col("session_start").fill_null("")
    fast_day = pl.when(start.str.contains(UTC_TIME_PATTERN)).then(date_prefix(start))
    keyed = sessions.select(
        LINE,
        fast_day.alias("date"),
        media_source_key("media_source").cast(pl.Categorical).alias("media_source"),
        campaign_key("media_source", "campaign").cast(pl.Categorical).alias("campaign"),
        _user_key(user),
        user.alias("_user"),
    ).cache()  # one scan for the four results below
    counted = keyed.filter(pl.col("date").is_not_null() & (pl.col("_user") != ""))
    by_campaign, by_day, distinct, other_lines = pl.collect_all(
        [
            *_count_players(counted),
            keyed.filter(pl.col("_user") != "").select(
                pl.col("_user").n_unique().alias("users"),
                pl.col(_USER_KEY).n_unique().alias("keys"),
            ),
            # The other rows, by line (with their user id, to check the read-back).
            keyed.filter(pl.col("date").is_null() | (pl.col("_user") == "")).select(
                LINE, pl.col("_user").alias("user_id")
            ),
        ],
        engine="streaming",
    )
    if distinct.item(0, "users") != distinct.item(0, "keys"):
        return exact_active_players(sessions, header, path)
    by_campaign = by_campaign.with_columns(pl.col(CAMPAIGN).cast(pl.String))

    rejected = pl.DataFrame(schema=REJECTED_SCHEMA)
    if other_lines.height:
        other = rows_by_line(
            sessions,
            other_lines.sort(LINE).with_columns(pl.lit(None, pl.String).alias("reason")),
            header,
            path,
        ).drop("reason")
        checked = check_sessions(other.lazy()).collect()
        rejected = rejected_frame(SESSIONS, checked.filter(pl.col("reason").is_not_null()), header)
        extra = checked.filter(pl.col("reason").is_null()).select(
            pl.col("_date").alias("date"),
            media_source_key("media_source").alias("media_source"),
            campaign_key("media_source", "campaign").alias("campaign"),
            _user_key(pl.col("_user")),
        )
        if extra.height:
            known = (
                counted.filter(
                    pl.col(_USER_KEY).is_in(extra.get_column(_USER_KEY).unique().implode())
                )
                .select(*DAY_CAMPAIGN, _USER_KEY)
                .with_columns(pl.col(CAMPAIGN).cast(pl.String))
                .collect(engine="streaming")
            )
            by_campaign = _add_new_players(by_campaign, DAY_CAMPAIGN, known, extra)
            by_day = _add_new_players(by_day, ["date"], known, extra)
    return ActivePlayers(
        by_campaign=by_campaign.sort(DAY_CAMPAIGN),
        by_day=by_day.sort("date"),
        rejected=rejected,
    )


def exact_active_players(
    sessions: pl.LazyFrame, header: Header, path: Path | None = None
) -> ActivePlayers:
    """`active_players` counting the user ids as text, every start through the full parser."""
    checked = check_sessions(sessions)
    ok = pl.col("reason").is_null()
    compact = checked.select(
        pl.when(ok).then(pl.col("_date")).alias("date"),
        media_source_key("media_source").alias("media_source"),
        campaign_key("media_source", "campaign").alias("campaign"),
        pl.col("_user").alias("user_id"),
        pl.when(~ok).then(pl.col(LINE)).alias("_bad_line"),
        "reason",
    ).collect(engine="streaming")
    bad = compact.filter(pl.col("_bad_line").is_not_null()).select(
        pl.col("_bad_line").alias(LINE), "reason"
    )
    valid = compact.filter(pl.col("date").is_not_null()).drop("_bad_line", "reason")
    del compact
    by_campaign = valid.group_by(DAY_CAMPAIGN).agg(
        pl.col("user_id").n_unique().cast(pl.Int64).alias("dau")
    )
    by_day = valid.group_by("date").agg(pl.col("user_id").n_unique().cast(pl.Int64).alias("dau"))
    del valid
    rejected = pl.DataFrame()
    if bad.height:
        rejected = rows_by_line(sessions, bad.sort(LINE), header, path)
    return ActivePlayers(
        by_campaign=by_campaign.sort(DAY_CAMPAIGN),
        by_day=by_day.sort("date"),
        rejected=rejected_frame(SESSIONS, rejected, header)
        if bad.height
        else pl.DataFrame(schema=REJECTED_SCHEMA),
    )


def arpdau_daily(attributed: pl.DataFrame, players: pl.DataFrame) -> pl.DataFrame:
    """Every (day, campaign) with a session or attributed revenue: date, media_source,
    campaign, revenue_micros, dau, arpdau (null when dau is 0)."""
    return (
        players.join(
            attributed.select(*DAY_CAMPAIGN, "revenue_micros"),
            on=DAY_CAMPAIGN,
            how="full",
            coalesce=True,
        )
        .with_columns(pl.col("revenue_micros").fill_null(0), pl.col("dau").fill_null(0))
        .with_columns(
            pl.when(pl.col("dau") > 0)
            .then(pl.col("revenue_micros") / MICROS_PER_UNIT / pl.col("dau"))
            .alias("arpdau")
        )
        .select(*DAY_CAMPAIGN, "revenue_micros", "dau", "arpdau")
        .sort(DAY_CAMPAIGN)
    )


def arpdau_totals(revenue: DailyRevenue, players_by_day: pl.DataFrame) -> pl.DataFrame:
    """Every day with a session or any revenue: date, revenue_micros (attributed +
    unattributed), dau (distinct players that day), arpdau (null when dau is 0)."""
    revenue_by_day = (
        pl.concat(
            [
                revenue.attributed.select("date", "revenue_micros"),
                revenue.unattributed.select("date", "revenue_micros"),
            ]
        )
        .group_by("date")
        .agg(pl.col("revenue_micros").sum())
    )
    return (
        players_by_day.join(revenue_by_day, on="date", how="full", coalesce=True)
        .with_columns(pl.col("revenue_micros").fill_null(0), pl.col("dau").fill_null(0))
        .with_columns(
            pl.when(pl.col("dau") > 0)
            .then(pl.col("revenue_micros") / MICROS_PER_UNIT / pl.col("dau"))
            .alias("arpdau")
        )
        .select("date", "revenue_micros", "dau", "arpdau")
        .sort("date")
    )


__all__ = [
    "PURCHASE",
    "ActivePlayers",
    "AnomalyRule",
    "DailyRevenue",
    "active_players",
    "anomalies",
    "arpdau_daily",
    "arpdau_totals",
    "daily_revenue",
    "latest_costs",
    "orphan_reversals",
    "reversed_per_purchase",
    "roas_daily",
]
