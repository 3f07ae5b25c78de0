"""The pipeline's `sessions` input (PIPELINE.md) from stored events: CSV, streamed."""

import csv
import os
import tempfile
from datetime import date
from pathlib import Path
from typing import TextIO

from core.fields import iso_utc
from telemetry.selectors import sessions_of_day

SESSIONS_COLUMNS = ["user_id", "session_start", "session_end", "media_source", "campaign"]


def sessions_csv_write(*, day: date, path: Path | None = None, stream: TextIO | None = None) -> int:
    """Write one row per session_start event of `day`; returns the number of rows.

    A file is written under a temporary name and renamed when complete, so a failed export never
    leaves half a file. session_end is empty (the pipeline does not use it); an organic player
    has an empty media source and campaign.
    """
    if path is None:
        if stream is None:
            raise ValueError("give a path or a stream")
        return _write_rows(day=day, stream=stream)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            rows = _write_rows(day=day, stream=out)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return rows


def _write_rows(*, day: date, stream: TextIO) -> int:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(SESSIONS_COLUMNS)
    rows = 0
    for session in sessions_of_day(day=day):
        writer.writerow(
            [
                session.user_id,
                iso_utc(session.session_start),
                "",
                session.media_source,
                session.campaign,
            ]
        )
        rows += 1
    return rows
