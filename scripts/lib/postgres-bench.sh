# Sourced by scripts/bench-store, bench-sweep and bench-workers for their PostgreSQL measurements:
# the server (a throwaway cluster of scripts/postgres-test-cluster unless the caller gives a URL),
# databases made and dropped by name, and a line of the server's settings that decide durability.
# Needs psql (Debian's postgresql-client, which `postgresql` brings) and python3.

# pg_bench_server URL: sets PG_BENCH_URL. With a URL, uses that server: its role must be allowed
# to CREATE DATABASE (the benchmarks make and drop databases named slope_bench_*); give the
# password by PGPASSWORD or ~/.pgpass rather than in the URL, which `ps` shows. Without one,
# starts a throwaway cluster with PostgreSQL's default durability (--durable: fsync and
# synchronous_commit on), reached without TLS on loopback; pg_bench_stop removes it.
pg_bench_server() {
    PG_BENCH_DIR=""
    if [[ -n "$1" ]]; then
        PG_BENCH_URL=$1
        psql "$PG_BENCH_URL" -qAtX -c "SELECT 1" >/dev/null || { echo "error: cannot connect to the server of --url (psql says why above)" >&2; exit 1; }
        return
    fi
    local cluster
    cluster=$(scripts/postgres-test-cluster start --durable)
    PG_BENCH_DIR=$(sed -n "s/^export SLOPE_TEST_POSTGRES_DIR='\(.*\)'$/\1/p" <<<"$cluster")
    PG_BENCH_URL="$(sed -n "s/^export SLOPE_TEST_POSTGRES_URL='\(.*\)'$/\1/p" <<<"$cluster")?sslmode=disable"
    [[ -n "$PG_BENCH_DIR" && "$PG_BENCH_URL" == postgresql://* ]] || { echo "error: scripts/postgres-test-cluster start printed no URL" >&2; exit 1; }
}

# pg_bench_stop: stops the cluster pg_bench_server started (nothing with --url). For EXIT traps.
pg_bench_stop() {
    if [[ -n "${PG_BENCH_DIR:-}" ]]; then
        scripts/postgres-test-cluster stop "$PG_BENCH_DIR" 2>/dev/null || true
        PG_BENCH_DIR=""
    fi
}

# pg_bench_database_url NAME: PG_BENCH_URL with its database replaced by NAME (query string kept).
pg_bench_database_url() {
    python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' \
        "$PG_BENCH_URL" "$1"
}

# pg_bench_sql SQL...: runs statements on PG_BENCH_URL's database; prints rows as a|b|c.
pg_bench_sql() {
    psql "$PG_BENCH_URL" -v ON_ERROR_STOP=1 -qAtX -c "SET client_min_messages = warning" "${@/#/-c}"
}

# pg_bench_createdb NAME [SETTING=VALUE]: a new empty database (dropped first if it exists),
# with the settings every session in it starts with (ALTER DATABASE ... SET).
pg_bench_createdb() {
    local name=$1 setting
    shift
    pg_bench_sql "DROP DATABASE IF EXISTS $name WITH (FORCE)" "CREATE DATABASE $name"
    for setting in "$@"; do
        pg_bench_sql "ALTER DATABASE $name SET ${setting%%=*} = '${setting#*=}'"
    done
}

# pg_bench_checkpoint: a CHECKPOINT (superuser or pg_checkpoint), so that the next measurement
# starts with no dirty pages or WAL left by the one before; said once when the role may not.
pg_bench_checkpoint() {
    pg_bench_sql "CHECKPOINT" 2>/dev/null && return
    [[ -n "${PG_BENCH_NO_CHECKPOINT:-}" ]] && return
    PG_BENCH_NO_CHECKPOINT=1
    echo "note: this role may not CHECKPOINT (it needs superuser or pg_checkpoint): a measurement may pay for the one before" >&2
}

# pg_bench_dropdb NAME...
pg_bench_dropdb() {
    local name
    for name in "$@"; do pg_bench_sql "DROP DATABASE IF EXISTS $name WITH (FORCE)"; done
}

# pg_bench_settings: one line: the server's version and the settings that decide what a commit costs.
pg_bench_settings() {
    pg_bench_sql "SELECT 'PostgreSQL ' || current_setting('server_version') || ', fsync=' || current_setting('fsync')
                  || ', synchronous_commit=' || current_setting('synchronous_commit') || ' (the default of new sessions)'
                  || ', wal_sync_method=' || current_setting('wal_sync_method') || ', full_page_writes=' || current_setting('full_page_writes')
                  || ', TLS ' || CASE WHEN (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) THEN 'on' ELSE 'off' END"
}
