from django.urls import path

from telemetry.api import (
    EventBatchCreateView,
    EventCreateView,
    EventListView,
    StatsView,
    TrackView,
)

urlpatterns = [
    path("event", EventCreateView.as_view(), name="event-create"),
    path("events/batch", EventBatchCreateView.as_view(), name="events-batch"),
    path("events", EventListView.as_view(), name="events-list"),
    path("stats", StatsView.as_view(), name="stats"),
    path("track", TrackView.as_view(), name="track"),
]
