"""Loaded by the admin's autodiscovery: the composed player and wallet pages take the place of
the apps' own registrations, and the admin log becomes a read-only page for all staff."""

from django.contrib import admin

from liveops import audit, players

players.register(admin.site)
audit.register(admin.site)
