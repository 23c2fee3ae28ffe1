"""The `iccc` console command: Django's management commands under friendlier names."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path


def demo_secret_key(var_dir: Path) -> str:
    """The demo's signing key: made once, kept in var/secret_key (mode 600), reused on restart.

    Only `iccc demo` uses this, and only when SECRET_KEY is unset, so a newcomer needs no set-up
    while a real installation must still provide its own key.
    """
    path = var_dir / "secret_key"
    if path.exists():
        key = path.read_text().strip()
        if len(key) >= 50:
            return key
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


# Commands that only read code and files, never sign, serve or store anything: a developer
# runs them on a fresh checkout, where no SECRET_KEY is set, and needs none.
KEYLESS_COMMANDS = frozenset(
    {"makemigrations", "check", "sqlmigrate", "showmigrations", "makemessages", "compilemessages", "help"}
)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iccc.config.settings")
    if len(argv) > 1 and not argv[1].startswith("-"):
        # `iccc import-results` is the management command `import_results`.
        argv[1] = argv[1].replace("-", "_")
        if argv[1] == "demo" and not os.environ.get("SECRET_KEY"):
            # Same var/ as settings.VAR_DIR (settings cannot be imported before the key is set).
            var_dir = Path(os.environ.get("ICCC_VAR_DIR", Path.cwd() / "var")).resolve()
            os.environ["SECRET_KEY"] = demo_secret_key(var_dir)
        elif argv[1] in KEYLESS_COMMANDS and not os.environ.get("SECRET_KEY"):
            os.environ.setdefault("ICCC_INSECURE_DEV_KEY", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
