"""Template filters for core.formats: `{% load formats %}` then `{{ value|money }}`."""

from django import template

from core import formats

register = template.Library()

for _name in ("money", "ratio", "arpdau", "percent", "count", "day", "moment"):
    register.filter(_name, getattr(formats, _name))
