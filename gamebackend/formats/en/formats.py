# Days "2026-12-03", moments "2026-12-03 08:20" (TIME_ZONE is UTC): the same format as
# core.formats, so a changelist, a change page and a report print a date the same way. Django's
# own "en" formats ("Dec. 3, 2026, 8:20 a.m.") would win over settings.DATE_FORMAT.
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "m-d"
YEAR_MONTH_FORMAT = "Y-m"
