from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from gamebackend.metrics import metrics_view
from gamebackend.views import HealthView, RedocView

urlpatterns = [
    path("health", HealthView.as_view(), name="health"),
    path("metrics", metrics_view, name="metrics"),
    path("", include("accounts.urls")),
    path("", include("economy.urls")),
    path("", include("telemetry.urls")),
    path("", include("analytics.urls")),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc", RedocView.as_view(url_name="schema"), name="redoc"),
    path("admin/reports/", include("gamebackend.admin_reports")),
    path("admin/", admin.site.urls),
]

if settings.BENCH_ENDPOINTS:
    from gamebackend.bench_views import bench_constant, bench_sleep

    urlpatterns += [
        path("bench/constant", bench_constant, name="bench-constant"),
        path("bench/sleep", bench_sleep, name="bench-sleep"),
    ]

handler400 = "gamebackend.views.bad_request"
handler403 = "gamebackend.views.permission_denied"
handler404 = "gamebackend.views.page_not_found"
handler500 = "gamebackend.views.server_error"
