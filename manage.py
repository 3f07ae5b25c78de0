#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gamebackend.settings")
    if sys.argv[1:2] == ["run_pipeline"]:
        # Its start-up is part of every run: see core.admin_app.lean_process.
        os.environ.setdefault("GAMEBACKEND_LEAN", "1")
        if "--no-db" in sys.argv[2:]:
            # Files in, files out: the same command without the app registry (see there).
            from analytics.management.commands.run_pipeline import run_without_setup

            run_without_setup(sys.argv)
            return
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
