"""Loaded by the admin's autodiscovery: the composed player and wallet pages take the place of
the apps' own registrations."""

from django.contrib import admin

from liveops import players

players.register(admin.site)
