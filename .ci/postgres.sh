#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster owned by the postgres user under a
# temp dir, listening on 127.0.0.1 only, and prints its URL on stdout.
# Usage: eval "$(bash .ci/postgres.sh)"  -> exports ROSTER_TEST_POSTGRES_URL
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] || { echo "postgresql is not installed (apt-get install -y postgresql)" >&2; exit 1; }
id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
PORT=${PGPORT_TEST:-55432}
# Pick the first free port so a developer's own cluster is left alone.
while (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; do PORT=$((PORT + 1)); done
DIR=$(mktemp -d /tmp/roster-pg.XXXXXX)
chown postgres "$DIR"
as_pg() { if [ "$(id -un)" = postgres ]; then "$@"; else su postgres -s /bin/bash -c "$(printf '%q ' "$@")"; fi; }
as_pg "$PGBIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
echo "export ROSTER_TEST_POSTGRES_URL='postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable'"
echo "export ROSTER_TEST_POSTGRES_DIR='$DIR'"
