#!/usr/bin/env bash
# Runs the whole suite: on SQLite (with the browser tests) and on PostgreSQL.
# On a machine without PostgreSQL or Chromium the missing part is skipped and said
# plainly; in CI (CI=true) nothing may be skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PG_URL="${ICCC_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/iccc}"
STRICT="${CI:-}"
skipped=()
status=0

pg_reachable() {
  "$PY" - "$PG_URL" <<'PYEOF' >/dev/null 2>&1
import sys, psycopg
from urllib.parse import urlparse
u = urlparse(sys.argv[1])
psycopg.connect(host=u.hostname, port=u.port or 5432, user=u.username or "postgres",
                password=u.password or None, dbname="postgres", connect_timeout=3).close()
PYEOF
}

if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; then
  export ICCC_BROWSER=1
else
  skipped+=("browser tests: Chromium not found (install it: sudo apt-get install chromium fonts-noto-core)")
  export ICCC_BROWSER=0
fi

echo "== ICCC tests on SQLite =="
DATABASE_URL="sqlite:///var/test.sqlite3" "$PY" -m pytest "$@" || status=$?

if pg_reachable; then
  echo "== ICCC tests on PostgreSQL ($PG_URL) =="
  # The browser tests exercise pages, not the database engine: once is enough.
  DATABASE_URL="$PG_URL" ICCC_BROWSER=0 "$PY" -m pytest -m "not browser" "$@" || status=$?
else
  skipped+=("PostgreSQL run: nothing answers at $PG_URL (start PostgreSQL, or set ICCC_TEST_POSTGRES_URL)")
fi

if [ ${#skipped[@]} -gt 0 ]; then
  echo
  echo "== SKIPPED =="
  for s in "${skipped[@]}"; do echo "  - $s"; done
  if [ -n "$STRICT" ]; then
    echo "CI=true: nothing may be skipped." >&2
    status=1
  fi
fi
exit $status
