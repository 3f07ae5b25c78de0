"""Pipeline runs and the report rows they store (PIPELINE.md "Outputs")."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


def money_field() -> models.DecimalField:
    """USD amounts exactly as the pipeline computes them (micro-units)."""
    return models.DecimalField(max_digits=20, decimal_places=6)


class PipelineRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Source(models.TextChoices):
        CRON = "cron"
        ADMIN = "admin"
        API = "api"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    date = models.DateField(help_text="The report day D.")
    parameters = models.JSONField(default=dict)
    inputs = models.JSONField(default=list, help_text="[{name, file, size, sha256}]")
    counts = models.JSONField(default=dict)
    stages = models.JSONField(default=list, help_text="[{name, seconds, rows}]")
    error = models.TextField(blank=True, default="")
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pipeline_runs",
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Last sign of life of the process executing the run.",
    )
    task_id = models.CharField(
        max_length=64, blank=True, default="", help_text="The django-tasks result of the run."
    )

    class Meta:
        ordering = ["-queued_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "succeeded", "failed"]),
                name="pipeline_run_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(source__in=["cron", "admin", "api"]),
                name="pipeline_run_source_valid",
            ),
            # Every run is created queued, so at most one queued row means concurrent triggers
            # cannot both get in; the services refuse a new run while one is queued or running.
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status__in=["queued", "running"]),
                name="pipeline_run_one_queued_one_running",
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status}, {self.date})"


class CampaignDayReport(models.Model):
    """A report row of one (day, campaign) stored by a run: what RoasDaily, RoasAnomaly and
    ArpdauDaily share (their own fields follow these; each names its unique constraint with
    `unique_campaign_day`)."""

    run = models.ForeignKey(PipelineRun, on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    media_source = models.TextField()
    campaign = models.TextField(blank=True)

    class Meta:
        abstract = True
        ordering = ["-date", "media_source", "campaign"]

    def __str__(self) -> str:
        return f"{self.date} {self.media_source}/{self.campaign}"


def unique_campaign_day(name: str) -> models.UniqueConstraint:
    """One row per (day, media source, campaign)."""
    return models.UniqueConstraint(fields=["date", "media_source", "campaign"], name=name)


class RoasDaily(CampaignDayReport):
    cost_usd = money_field()
    gross_revenue_usd = money_field()
    reversed_usd = money_field()
    revenue_usd = money_field()
    roas = models.FloatField(null=True, blank=True)

    class Meta(CampaignDayReport.Meta):
        verbose_name = "ROAS per day and campaign"
        verbose_name_plural = "ROAS per day and campaign"
        constraints = [unique_campaign_day("roas_daily_unique_campaign_day")]


class RoasAnomaly(CampaignDayReport):
    roas = models.FloatField()
    baseline_roas = models.FloatField()
    baseline_days = models.PositiveSmallIntegerField()
    drop = models.FloatField()
    mean = models.FloatField()
    std = models.FloatField(null=True, blank=True)
    z = models.FloatField(null=True, blank=True)
    cost_usd = money_field()
    revenue_usd = money_field()

    class Meta(CampaignDayReport.Meta):
        verbose_name = "ROAS anomaly"
        constraints = [unique_campaign_day("roas_anomaly_unique_campaign_day")]


class ArpdauDaily(CampaignDayReport):
    revenue_usd = money_field()
    dau = models.PositiveIntegerField()
    arpdau = models.FloatField(null=True, blank=True)

    class Meta(CampaignDayReport.Meta):
        verbose_name = "ARPDAU per day and campaign"
        verbose_name_plural = "ARPDAU per day and campaign"
        constraints = [unique_campaign_day("arpdau_daily_unique_campaign_day")]


class ArpdauTotal(models.Model):
    run = models.ForeignKey(PipelineRun, on_delete=models.PROTECT, related_name="+")
    date = models.DateField(unique=True)
    revenue_usd = money_field()
    dau = models.PositiveIntegerField()
    arpdau = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = "ARPDAU per day"
        verbose_name_plural = "ARPDAU per day"
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"{self.date}"


class ReconciliationSummary(models.Model):
    """reconciliation.json of one run, as columns (and the document itself in `data`)."""

    run = models.OneToOneField(PipelineRun, on_delete=models.PROTECT, related_name="reconciliation")
    date = models.DateField()
    window_minutes = models.PositiveIntegerField()
    appsflyer_rows = models.PositiveIntegerField()
    non_primary_dropped = models.PositiveIntegerField()
    duplicates_removed = models.PositiveIntegerField()
    appsflyer_purchases = models.PositiveIntegerField()
    gateway_purchases = models.PositiveIntegerField()
    matched = models.PositiveIntegerField()
    matched_by_id = models.PositiveIntegerField()
    matched_by_time = models.PositiveIntegerField()
    unmatched_appsflyer = models.PositiveIntegerField()
    unmatched_gateway = models.PositiveIntegerField()
    match_rate = models.FloatField(null=True, blank=True)
    appsflyer_usd = money_field()
    confirmed_usd = money_field()
    reversed_usd = money_field()
    net_usd = money_field()
    unattributed_usd = money_field()
    unconfirmed_usd = money_field()
    refunds = models.PositiveIntegerField()
    chargebacks = models.PositiveIntegerField()
    chargeback_reversals = models.PositiveIntegerField()
    orphan_reversals = models.PositiveIntegerField()
    rejected_rows = models.PositiveIntegerField()
    data = models.JSONField()

    class Meta:
        verbose_name = "reconciliation summary"
        verbose_name_plural = "reconciliation summaries"
        ordering = ["-date", "-run_id"]

    def __str__(self) -> str:
        return f"reconciliation of run {self.run_id} ({self.date})"
