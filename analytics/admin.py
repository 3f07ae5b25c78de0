"""Admin: pipeline runs with a "Run pipeline" view that only enqueues, and read-only reports."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from analytics import services
from analytics.errors import PipelineBusy
from analytics.models import (
    ArpdauDaily,
    ArpdauTotal,
    PipelineRun,
    ReconciliationSummary,
    RoasAnomaly,
    RoasDaily,
)
from core import formats
from core.admin_columns import number_column
from core.admin_readonly import ReadOnlyAdmin


class RunPipelineForm(forms.Form):
    date = forms.DateField(
        required=False, help_text="Report day D (YYYY-MM-DD); empty means yesterday (UTC)."
    )


@admin.register(PipelineRun)
class PipelineRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "status",
        "date",
        "source",
        "triggered_by",
        "queued_at",
        "started_at",
        "finished_at",
        "seconds",
    ]
    list_filter = ["status", "source"]
    date_hierarchy = "queued_at"
    readonly_fields = [
        "status",
        "date",
        "source",
        "triggered_by",
        "queued_at",
        "started_at",
        "finished_at",
        "heartbeat_at",
        "task_id",
        "parameters",
        "inputs",
        "counts",
        "stages",
        "error",
    ]
    change_list_template = "admin/analytics/pipelinerun/change_list.html"

    @admin.display(description="seconds")
    def seconds(self, run: PipelineRun) -> str:
        if run.started_at is None or run.finished_at is None:
            return "-"
        return f"{(run.finished_at - run.started_at).total_seconds():.1f}"

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        services.pipeline_runs_reap_now()
        return super().changelist_view(request, extra_context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # A run whose worker stopped reads as failed, not as running forever.
        services.pipeline_runs_reap_now()
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[URLPattern]:
        run = path(
            "run/",
            self.admin_site.admin_view(self.run_pipeline_view),
            name="analytics_pipelinerun_run",
        )
        return [run, *super().get_urls()]

    def run_pipeline_view(self, request: HttpRequest) -> HttpResponse:
        # Queuing a run creates a run row: `add_pipelinerun` is the "may run the pipeline"
        # permission (the analyst role has it); the rows themselves stay read-only.
        if not request.user.has_perm("analytics.add_pipelinerun"):
            raise PermissionDenied
        form = RunPipelineForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                run = services.pipeline_run_enqueue(
                    report_date=form.cleaned_data["date"],
                    triggered_by=request.user,
                    source=PipelineRun.Source.ADMIN,
                )
            except PipelineBusy as busy:
                self.message_user(request, str(busy.detail), messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Pipeline run {run.pk} for {run.date.isoformat()} is queued.",
                    messages.SUCCESS,
                )
                # The run page refreshes itself while the run is queued or running.
                return HttpResponseRedirect(
                    reverse("admin:analytics_pipelinerun_change", args=[run.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Run pipeline",
            "form": form,
        }
        return TemplateResponse(request, "admin/analytics/pipelinerun/run.html", context)


@admin.register(RoasDaily)
class RoasDailyAdmin(ReadOnlyAdmin):
    list_display = [
        "date",
        "media_source",
        "campaign",
        "cost",
        "gross_revenue",
        "reversed_column",
        "revenue",
        "roas_column",
    ]
    list_filter = ["media_source"]
    date_hierarchy = "date"
    search_fields = ["campaign"]

    cost = number_column("cost_usd", formats.money, description="cost (USD)")
    gross_revenue = number_column(
        "gross_revenue_usd", formats.money, description="gross revenue (USD)"
    )
    reversed_column = number_column("reversed_usd", formats.money, description="reversed (USD)")
    revenue = number_column("revenue_usd", formats.money, description="revenue (USD)")
    roas_column = number_column("roas", formats.ratio, description="ROAS")


@admin.register(RoasAnomaly)
class RoasAnomalyAdmin(ReadOnlyAdmin):
    list_display = [
        "date",
        "media_source",
        "campaign",
        "roas_column",
        "baseline_roas_column",
        "baseline_days",
        "drop_column",
        "z_column",
        "cost",
        "revenue",
    ]
    date_hierarchy = "date"

    roas_column = number_column("roas", formats.ratio, description="ROAS")
    baseline_roas_column = number_column(
        "baseline_roas", formats.ratio, description="baseline ROAS"
    )
    drop_column = number_column("drop", formats.ratio)
    z_column = number_column("z", formats.ratio)
    cost = number_column("cost_usd", formats.money, description="cost (USD)")
    revenue = number_column("revenue_usd", formats.money, description="revenue (USD)")


@admin.register(ArpdauDaily)
class ArpdauDailyAdmin(ReadOnlyAdmin):
    list_display = ["date", "media_source", "campaign", "revenue", "dau_column", "arpdau_column"]
    list_filter = ["media_source"]
    date_hierarchy = "date"
    search_fields = ["campaign"]

    revenue = number_column("revenue_usd", formats.money, description="revenue (USD)")
    dau_column = number_column("dau", formats.count, description="DAU")
    arpdau_column = number_column("arpdau", formats.arpdau, description="ARPDAU")


@admin.register(ArpdauTotal)
class ArpdauTotalAdmin(ReadOnlyAdmin):
    list_display = ["date", "revenue", "dau_column", "arpdau_column"]
    date_hierarchy = "date"

    revenue = number_column("revenue_usd", formats.money, description="revenue (USD)")
    dau_column = number_column("dau", formats.count, description="DAU")
    arpdau_column = number_column("arpdau", formats.arpdau, description="ARPDAU")


@admin.register(ReconciliationSummary)
class ReconciliationSummaryAdmin(ReadOnlyAdmin):
    list_display = [
        "run",
        "date",
        "appsflyer",
        "gateway",
        "matched_column",
        "match_rate_column",
        "net",
        "unattributed",
        "rejected",
    ]
    date_hierarchy = "date"

    appsflyer = number_column(
        "appsflyer_purchases", formats.count, description="AppsFlyer purchases"
    )
    gateway = number_column("gateway_purchases", formats.count, description="gateway purchases")
    matched_column = number_column("matched", formats.count)
    match_rate_column = number_column("match_rate", formats.percent, description="match rate")
    net = number_column("net_usd", formats.money, description="net (USD)")
    unattributed = number_column(
        "unattributed_usd", formats.money, description="unattributed (USD)"
    )
    rejected = number_column("rejected_rows", formats.count, description="rejected rows")
