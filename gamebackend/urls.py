from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.views import RedocView, health_view, metrics_view

urlpatterns = [
    path("health", health_view, name="health"),
    path("metrics", metrics_view, name="metrics"),
    path("", include("accounts.urls")),
    path("", include("economy.urls")),
    path("", include("telemetry.urls")),
    path("", include("analytics.urls")),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc", RedocView.as_view(url_name="schema"), name="redoc"),
    path("admin/reports/retention/", include("liveops.retention")),
    path("admin/reports/", include("liveops.reports")),
    path("admin/", admin.site.urls),
]

if settings.BENCH_ENDPOINTS:
    from gamebackend.bench_views import bench_constant, bench_sleep

    urlpatterns += [
        path("bench/constant", bench_constant, name="bench-constant"),
        path("bench/sleep", bench_sleep, name="bench-sleep"),
    ]

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
