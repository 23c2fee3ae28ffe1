"""The `iccc` console command: Django's management commands under friendlier names."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iccc.config.settings")
    if len(argv) > 1 and not argv[1].startswith("-"):
        # `iccc import-results` is the management command `import_results`.
        argv[1] = argv[1].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
