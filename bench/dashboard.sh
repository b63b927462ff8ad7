#!/usr/bin/env bash
# Dashboard benchmark: how fast the dashboard answers on a big call log.
#
# Seeds a SQLite store with synthetic calls through `sluice dev-seed` (the same
# batched insert the call-log writer uses, so the hourly rollups are maintained
# as in production), starts `sluice serve` on it, and times the dashboard's
# overview page and its JSON with curl. Prints the seed time, the database
# size and, per URL, the median and maximum response time. See bench/README.md.
#
# Environment (all optional):
#   BENCH_CALLS        calls to seed                                  (default 1000000)
#   BENCH_DAYS         spread over this many days before now          (default 30)
#   BENCH_PURPOSES     purposes                                       (default 8)
#   BENCH_REQUESTS     timed requests per URL                         (default 20)
#   BENCH_SLUICE_PORT  Sluice port                                    (default 18082)
#   BENCH_DASH_DIR     keep the database here and reuse it when it was seeded
#                      with the same calls/days/purposes (default: a temp dir)
#   BENCH_KEEP_TMP     1 keeps the temp dir (db, logs) on success     (default 0)
#   SLUICE_BIN         the sluice binary (default .build-release/release/sluice;
#                      this script builds nothing: see bench/README.md)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)

CALLS=${BENCH_CALLS:-1000000}
DAYS=${BENCH_DAYS:-30}
PURPOSES=${BENCH_PURPOSES:-8}
REQUESTS=${BENCH_REQUESTS:-20}
SLUICE_PORT=${BENCH_SLUICE_PORT:-18082}
KEEP_TMP=${BENCH_KEEP_TMP:-0}
SLUICE_BIN=${SLUICE_BIN:-$REPO_DIR/.build-release/release/sluice}
HOST=127.0.0.1
ADMIN=bench-dashboard-admin-key
READY_TIMEOUT=60

die() { echo "dashboard: error: $*" >&2; exit 1; }
note() { echo "dashboard: $*" >&2; }

for v in CALLS DAYS PURPOSES REQUESTS SLUICE_PORT; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "BENCH_$v must be a whole number, got '${!v}'"
done
[ "$REQUESTS" -ge 1 ] || die "BENCH_REQUESTS must be at least 1"
[ -x "$SLUICE_BIN" ] || die "no sluice binary at $SLUICE_BIN: build one with
  swift build -c release --product sluice --scratch-path .build-release
or set SLUICE_BIN"
command -v curl >/dev/null 2>&1 || die "curl is required"
(exec 3<>"/dev/tcp/$HOST/$SLUICE_PORT") 2>/dev/null && die "port $SLUICE_PORT is already in use (set BENCH_SLUICE_PORT)"

TMP=$(mktemp -d /tmp/sluice-dashboard.XXXXXX)
DATA=${BENCH_DASH_DIR:-$TMP}
mkdir -p "$DATA"
DB=$DATA/sluice.db
SLUICE_PID=""

cleanup() {
    local rc=$? i
    trap - EXIT INT TERM
    set +e
    if [ -n "$SLUICE_PID" ] && kill -0 "$SLUICE_PID" 2>/dev/null; then
        kill -TERM "$SLUICE_PID"
        for ((i = 0; i < 100; i++)); do kill -0 "$SLUICE_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SLUICE_PID" 2>/dev/null
        wait "$SLUICE_PID" 2>/dev/null
    fi
    if { [ "$rc" -ne 0 ] && [ "$rc" -ne 130 ] && [ "$rc" -ne 143 ]; } || [ "$KEEP_TMP" = 1 ]; then
        note "temp dir kept: $TMP"
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cat >"$TMP/sluice.yaml" <<EOF
server: { host: $HOST, port: $SLUICE_PORT }
storage: { url: "sqlite://$DB" }
auth: { admin_key: $ADMIN }
EOF

db_bytes() { cat "$DB" "$DB-wal" 2>/dev/null | wc -c; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

echo "Sluice dashboard bench  $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "  host:    $(nproc) cores, $(uname -sr)"
echo "  sluice:  $SLUICE_BIN (built $(date -u -r "$SLUICE_BIN" +%Y-%m-%dT%H:%M:%SZ))"
echo "  data:    $CALLS calls over $DAYS days, $PURPOSES purposes, in $DB"

# ---------------------------------------------------------------- seed
MARKER=$DATA/seeded
WANT="calls=$CALLS days=$DAYS purposes=$PURPOSES"
if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$WANT" ] && [ -f "$DB" ]; then
    echo "  seed:    reused (seeded earlier: $WANT; the newest calls are as old as that run)"
    "$SLUICE_BIN" dev-seed --config "$TMP/sluice.yaml" --calls 0 --days "$DAYS" 2>/dev/null | tail -n 1 | sed "s/^/           /"
else
    rm -f "$DB" "$DB-wal" "$DB-shm" "$MARKER"
    note "seeding $CALLS calls (progress every 100k)"
    t0=$(date +%s.%N)
    "$SLUICE_BIN" dev-seed --config "$TMP/sluice.yaml" --calls "$CALLS" --days "$DAYS" --purposes "$PURPOSES" \
        >"$TMP/seed.out" 2>"$TMP/seed.err" || { cat "$TMP/seed.err" >&2; die "dev-seed failed"; }
    t1=$(date +%s.%N)
    echo "$WANT" >"$MARKER"
    awk -v a="$t0" -v b="$t1" -v n="$CALLS" 'BEGIN { printf "  seed:    %.1f s wall (%.0f calls/s, migration and process start included)\n", b - a, n / (b - a) }'
    sed "s/^/           /" "$TMP/seed.out"
fi
echo "  db size: $(mib "$(db_bytes)") (sluice.db + WAL)"

# ---------------------------------------------------------------- serve
"$SLUICE_BIN" serve --config "$TMP/sluice.yaml" >"$TMP/sluice.log" 2>"$TMP/sluice.stderr" &
SLUICE_PID=$!
for ((i = 0; i < READY_TIMEOUT * 10; i++)); do
    kill -0 "$SLUICE_PID" 2>/dev/null || { tail -n 20 "$TMP/sluice.log" "$TMP/sluice.stderr" >&2; die "sluice exited"; }
    curl -fsS --max-time 1 -o /dev/null "http://$HOST:$SLUICE_PORT/healthz" 2>/dev/null && break
    sleep 0.1
done
curl -fsS --max-time 1 -o /dev/null "http://$HOST:$SLUICE_PORT/healthz" || die "sluice did not answer /healthz within ${READY_TIMEOUT}s"

# ---------------------------------------------------------------- requests
# Times REQUESTS GETs of URL (plus one untimed first request) and prints one row.
time_url() { # NAME URL [CURL ARGS...]
    local name=$1 url=$2 code times i t
    shift 2
    code=$(curl -sS --max-time 60 -o "$TMP/first.out" -w '%{http_code}' "$@" "$url") || code=000
    times=""
    for ((i = 0; i < REQUESTS; i++)); do
        t=$(curl -sS --max-time 60 -o /dev/null -w '%{http_code} %{time_total}' "$@" "$url") || t="000 0"
        [ "${t% *}" = "$code" ] || note "$name: HTTP ${t% *} after a first $code"
        times+="${t#* }"$'\n'
    done
    printf '%s' "$times" | sort -n | awk -v name="$name" -v code="$code" -v n="$REQUESTS" '
        { v[NR] = $1 * 1000 }
        END {
            med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
            printf "%-34s %6s %10.1f %10.1f %10.1f\n", name, code, med, v[n], v[1]
        }'
    [ "$code" = 200 ] || note "$name answered HTTP $code (first body: $(head -c 200 "$TMP/first.out"))"
}

echo
printf "%-34s %6s %10s %10s %10s\n" "request ($REQUESTS each)" "http" "median ms" "max ms" "min ms"
time_url "GET /?key=ADMIN" "http://$HOST:$SLUICE_PORT/?key=$ADMIN"
time_url "GET /admin/dashboard/overview" "http://$HOST:$SLUICE_PORT/admin/dashboard/overview" \
    -H "Authorization: Bearer $ADMIN"

# ---------------------------------------------------------------- the queries themselves
if command -v sqlite3 >/dev/null 2>&1; then
    since=$(( ($(date +%s) - DAYS * 86400) * 1000 ))
    q_time() { # SQL -> "rows, ms"
        printf '.timer on\n%s;\n' "$1" | sqlite3 -readonly "$DB" 2>&1 | awk '
            /^Run Time/ { real = $4; next } { rows++ }
            END { printf "%d rows, %.1f ms\n", rows, real * 1000 }'
    }
    echo
    echo "sqlite3 CLI, spend and calls per purpose over $DAYS days:"
    echo "  from call_rollups:  $(q_time "SELECT purpose, sum(calls), sum(cost_usd) FROM call_rollups WHERE hour_ms >= $since GROUP BY purpose")"
    echo "  from calls:         $(q_time "SELECT purpose, count(*), sum(cost_usd) FROM calls WHERE created_at_ms >= $since GROUP BY purpose")"
fi
