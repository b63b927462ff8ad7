#!/usr/bin/env bash
# Sluice gateway benchmark.
#
# Measures, in one run and on loopback only, the same chat call made
#   (a) directly to a fast fake upstream (nginx answering a fixed body), and
#   (b) through Sluice, which forwards it to that same fake upstream,
# with wrk, and prints the throughput and latency of each plus the ratio and
# the added latency. See bench/README.md.
#
# Environment (all optional):
#   BENCH_DURATION      seconds per measured wrk run              (default 10)
#   BENCH_WARMUP        seconds of warm-up per kind, 0 to skip     (default 2)
#   BENCH_POINTS        space-separated KIND:THREADS:CONNECTIONS  (default "json:1:1 json:2:64 sse:1:1 cache:2:64")
#                       KIND is json, sse or cache (a purpose whose answers Sluice caches: every
#                       measured request is a cache hit; the direct run is the json call)
#   BENCH_SOAK          seconds of a soak at json t2 c64 after the points, 0 to skip (default 0);
#                       prints Sluice's RSS at start, middle and end
#   BENCH_PEER_CMD      optional: a command that starts a peer gateway forwarding to the fake
#                       upstream (it gets PEER_UPSTREAM=http://127.0.0.1:NGINX_PORT/v1 and
#                       PEER_MODEL in its environment); json and sse points are then also
#                       measured through it
#   BENCH_PEER_URL      the peer's chat completions URL (required with BENCH_PEER_CMD)
#   BENCH_PEER_MODEL    the model name to send to the peer (default: the upstream model)
#   BENCH_PAUSE         seconds to idle between wrk runs           (default 1)
#   BENCH_MAX_OTHER     % of one core other processes may use during a measured run before
#                       its point (direct and sluice) is measured again (default 25)
#   BENCH_RETRIES       how many times a disturbed point is measured again (default 2)
#   BENCH_NGINX_PORT    fake upstream port                         (default 18090)
#   BENCH_SLUICE_PORT   Sluice port                                (default 18081)
#   BENCH_WRK_TIMEOUT   wrk per-request timeout, seconds           (default 5)
#   BENCH_OUT           where results go                           (default bench/out)
#   BENCH_KEEP_TMP      1 keeps the temp dir (db, logs) on success (default 0)
#   SLUICE_BIN          use this sluice binary instead of building one
#   BENCH_REBUILD       1 runs the release build even if the binary exists
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)

DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
POINTS=${BENCH_POINTS:-"json:1:1 json:2:64 sse:1:1 cache:2:64"}
SOAK=${BENCH_SOAK:-0}
PEER_CMD=${BENCH_PEER_CMD:-}
PEER_URL=${BENCH_PEER_URL:-}
PAUSE=${BENCH_PAUSE:-1}
MAX_OTHER=${BENCH_MAX_OTHER:-25}
RETRIES=${BENCH_RETRIES:-2}
NGINX_PORT=${BENCH_NGINX_PORT:-18090}
SLUICE_PORT=${BENCH_SLUICE_PORT:-18081}
WRK_TIMEOUT=${BENCH_WRK_TIMEOUT:-5}
OUT_ROOT=${BENCH_OUT:-$BENCH_DIR/out}
KEEP_TMP=${BENCH_KEEP_TMP:-0}
REBUILD=${BENCH_REBUILD:-0}
READY_TIMEOUT=30   # seconds to wait for nginx / Sluice to answer
STOP_TIMEOUT=60    # seconds to wait for Sluice to drain its call log and exit
BUILD_TIMEOUT=3600 # seconds for the release build

UPSTREAM_MODEL=gpt-4o-mini-2024-07-18
HOST=127.0.0.1

die() { echo "bench: error: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

for v in DURATION WARMUP PAUSE NGINX_PORT SLUICE_PORT WRK_TIMEOUT SOAK MAX_OTHER RETRIES; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "BENCH_$v must be a whole number, got '${!v}'"
done
[ "$DURATION" -ge 1 ] || die "BENCH_DURATION must be at least 1"
[ -z "$PEER_CMD" ] || [ -n "$PEER_URL" ] || die "BENCH_PEER_CMD needs BENCH_PEER_URL (the peer's chat completions URL)"
[ "$NGINX_PORT" != "$SLUICE_PORT" ] || die "BENCH_NGINX_PORT and BENCH_SLUICE_PORT must differ"
for p in $POINTS; do
    [[ $p =~ ^(json|sse|cache):[0-9]+:[0-9]+$ ]] || die "bad point '$p' in BENCH_POINTS (want KIND:THREADS:CONNECTIONS, KIND json, sse or cache)"
    IFS=: read -r _k t c <<<"$p"
    [ "$t" -ge 1 ] && [ "$c" -ge "$t" ] || die "bad point '$p': need 1 <= threads <= connections"
done

# ---------------------------------------------------------------- prerequisites
# Installs only what is missing, from Debian apt.
ensure_prereqs() {
    local pkgs=()
    command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || pkgs+=(nginx)
    command -v wrk >/dev/null 2>&1 || pkgs+=(wrk)
    command -v sqlite3 >/dev/null 2>&1 || pkgs+=(sqlite3)
    command -v curl >/dev/null 2>&1 || pkgs+=(curl)
    [ ${#pkgs[@]} -eq 0 ] && return 0
    note "missing: ${pkgs[*]}; installing with apt-get"
    [ "$(id -u)" -eq 0 ] || die "not root; install these yourself: ${pkgs[*]} (nginx-light or nginx)"
    command -v apt-get >/dev/null 2>&1 || die "no apt-get; install these yourself: ${pkgs[*]}"
    timeout 600 apt-get update -qq || die "apt-get update failed"
    local i
    for i in "${!pkgs[@]}"; do
        if [ "${pkgs[$i]}" = nginx ] && apt-cache show nginx-light >/dev/null 2>&1; then
            pkgs[$i]=nginx-light
        fi
    done
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends "${pkgs[@]}" \
        || die "apt-get install ${pkgs[*]} failed"
}
ensure_prereqs
NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)

# ---------------------------------------------------------------- sluice binary
if [ -n "${SLUICE_BIN:-}" ]; then
    [ -x "$SLUICE_BIN" ] || die "SLUICE_BIN=$SLUICE_BIN is not an executable file"
else
    SLUICE_BIN=$REPO_DIR/.build-release/release/sluice
    if [ ! -x "$SLUICE_BIN" ] || [ "$REBUILD" = 1 ]; then
        command -v swift >/dev/null 2>&1 || die "no swift toolchain to build $SLUICE_BIN (or set SLUICE_BIN)"
        note "building release binary into $REPO_DIR/.build-release (this takes several minutes)"
        (cd "$REPO_DIR" && timeout "$BUILD_TIMEOUT" swift build -c release --product sluice --scratch-path .build-release) \
            || die "release build failed"
        [ -x "$SLUICE_BIN" ] || die "build finished but $SLUICE_BIN is missing"
    fi
fi

# ---------------------------------------------------------------- ports, dirs
port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
port_in_use "$NGINX_PORT" && die "port $NGINX_PORT is already in use (set BENCH_NGINX_PORT)"
port_in_use "$SLUICE_PORT" && die "port $SLUICE_PORT is already in use (set BENCH_SLUICE_PORT)"

TMP=$(mktemp -d /tmp/sluice-bench.XXXXXX)
RUN_OUT=$OUT_ROOT/$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN_OUT"
RESULTS=$RUN_OUT/results.txt
: >"$RESULTS"
say() { echo "$*" | tee -a "$RESULTS"; }

NGINX_PID=""
SLUICE_PID=""
PEER_PID=""

# Sends SIG to PID, waits up to WAIT seconds, then SIGKILLs. Returns 0 if it
# exited on its own after SIG, 1 if it had to be killed.
stop_pid() {
    local pid=$1 sig=$2 wait_s=$3 name=$4 i
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill "-$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < wait_s * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    note "$name (pid $pid) did not exit within ${wait_s}s of SIG$sig; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 1
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    stop_pid "$SLUICE_PID" TERM 10 sluice
    [ -n "$PEER_PID" ] && { kill -TERM -- "-$PEER_PID" 2>/dev/null; stop_pid "$PEER_PID" TERM 10 peer; }
    local kids="" k
    [ -n "$NGINX_PID" ] && kids=$(cat /proc/"$NGINX_PID"/task/*/children 2>/dev/null)
    stop_pid "$NGINX_PID" QUIT 5 nginx
    for k in $kids; do # workers left behind only if the master had to be killed
        grep -qs 'nginx: worker' "/proc/$k/cmdline" && kill -KILL "$k" 2>/dev/null
    done
    # Kept for a look after a failure (not after Ctrl-C / SIGTERM) or on request.
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

# ---------------------------------------------------------------- fake upstream
JSON_FIXTURE=$BENCH_DIR/fixtures/chat-completion.json
SSE_FIXTURE=$BENCH_DIR/fixtures/chat-completion.sse
for f in "$JSON_FIXTURE" "$SSE_FIXTURE"; do
    [ -f "$f" ] || die "missing fixture $f"
    # nginx 'return' text is single-quoted and interpolates variables.
    if grep -q "[\\\\'\$]" "$f"; then die "fixture $f must not contain a quote, backslash or dollar sign"; fi
done

# The file as the text of a quoted nginx string, newlines as \n escapes (so
# that trailing newlines survive command substitution).
nginx_text() { sed -z 's/\n/\\n/g' "$1"; }

mkdir -p "$TMP/nginx/client_body"
cat >"$TMP/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    server_tokens off;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    client_max_body_size 16m;
    client_body_buffer_size 1m;
    client_body_temp_path $TMP/nginx/client_body;
    server {
        listen $HOST:$NGINX_PORT;
        location = /healthz { default_type text/plain; return 200 'ok'; }
        location = /v1/chat/completions {
            default_type application/json;
            return 200 '$(nginx_text "$JSON_FIXTURE")';
        }
        location = /sse/v1/chat/completions {
            default_type text/event-stream;
            add_header Cache-Control no-cache;
            return 200 '$(nginx_text "$SSE_FIXTURE")';
        }
    }
}
EOF
"$NGINX" -t -q -e "$TMP/nginx/error.log" -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" \
    || die "nginx rejected $TMP/nginx/nginx.conf"
"$NGINX" -e "$TMP/nginx/error.log" -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" &
NGINX_PID=$!

wait_http() { # URL NAME PID
    local url=$1 name=$2 pid=$3 i
    for ((i = 0; i < READY_TIMEOUT * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        curl -fsS --max-time 1 -o /dev/null "$url" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
wait_http "http://$HOST:$NGINX_PORT/healthz" nginx "$NGINX_PID" \
    || { cat "$TMP/nginx/error.log" >&2 || true; die "nginx did not come up on $HOST:$NGINX_PORT"; }

# ---------------------------------------------------------------- sluice
cat >"$TMP/sluice.yaml" <<EOF
server: { host: $HOST, port: $SLUICE_PORT }
storage: { url: "sqlite://$TMP/sluice.db", log_bodies: full }
providers:
  fake: { type: openai_compatible, base_url: "http://$HOST:$NGINX_PORT/v1" }
  fakesse: { type: openai_compatible, base_url: "http://$HOST:$NGINX_PORT/sse/v1" }
models:
  bench:
    targets:
      - { provider: fake, model: $UPSTREAM_MODEL }
  bench-sse:
    targets:
      - { provider: fakesse, model: $UPSTREAM_MODEL }
purposes:
  cached: { model: bench, cache: { ttl: 1h } }
EOF
SLUICE_LOG=$TMP/sluice.log
# Start-up: from launch to the first 200 of GET /readyz (migrations of a fresh database included).
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
start_ms=$(ms_now)
"$SLUICE_BIN" serve --config "$TMP/sluice.yaml" --port "$SLUICE_PORT" >"$SLUICE_LOG" 2>"$TMP/sluice.stderr" &
SLUICE_PID=$!
STARTUP_MS="?"
for ((i = 0; i < READY_TIMEOUT * 100; i++)); do
    kill -0 "$SLUICE_PID" 2>/dev/null || break
    if curl -fsS --max-time 1 -o /dev/null "http://$HOST:$SLUICE_PORT/readyz" 2>/dev/null; then
        STARTUP_MS=$(( $(ms_now) - start_ms )); break
    fi
    sleep 0.01
done
if ! wait_http "http://$HOST:$SLUICE_PORT/healthz" sluice "$SLUICE_PID"; then
    tail -n 20 "$SLUICE_LOG" "$TMP/sluice.stderr" >&2 || true
    kill -0 "$SLUICE_PID" 2>/dev/null || die "sluice exited before answering GET /healthz (log above)"
    die "sluice did not answer GET /healthz on $HOST:$SLUICE_PORT within ${READY_TIMEOUT}s"
fi

# ---------------------------------------------------------------- requests
DIRECT_BASE=http://$HOST:$NGINX_PORT
SLUICE_BASE=http://$HOST:$SLUICE_PORT
body_for() { # KIND TARGET(direct|sluice|peer)
    local model stream=""
    case "$1:$2" in
        json:direct | sse:direct | cache:direct) model=$UPSTREAM_MODEL ;;
        json:sluice | cache:sluice) model=bench ;;
        sse:sluice) model=bench-sse ;;
        *:peer) model=${BENCH_PEER_MODEL:-$UPSTREAM_MODEL} ;;
    esac
    [ "$1" = sse ] && stream=',"stream":true'
    printf '{"model":"%s","messages":[{"role":"user","content":"hi"}]%s}' "$model" "$stream"
}
url_for() { # KIND TARGET
    case "$1:$2" in
        json:direct | cache:direct) echo "$DIRECT_BASE/v1/chat/completions" ;;
        sse:direct) echo "$DIRECT_BASE/sse/v1/chat/completions" ;;
        *:sluice) echo "$SLUICE_BASE/v1/chat/completions" ;;
        *:peer) echo "$PEER_URL" ;;
    esac
}
# Extra request headers, for post.lua's BENCH_HEADERS ("Name: value|…").
headers_for() { # KIND TARGET
    case "$1:$2" in
        cache:sluice) echo "X-Sluice-Purpose: cached" ;;
        *) echo "" ;;
    esac
}

# One request of each kind and target, checked, before measuring anything.
SLUICE_SANITY_CALLS=0
sanity() { # KIND TARGET MUST_CONTAIN...
    local kind=$1 target=$2 out=$RUN_OUT/sanity-$1-$2.txt code
    shift 2
    local extra=() h
    h=$(headers_for "$kind" "$target"); [ -n "$h" ] && extra=(-H "$h")
    code=$(curl -sS --max-time 10 -o "$out" -D "$out.headers" -w '%{http_code}' -H 'Content-Type: application/json' "${extra[@]}" \
        --data-binary "$(body_for "$kind" "$target")" "$(url_for "$kind" "$target")") || code=000
    [ "$target" = sluice ] && SLUICE_SANITY_CALLS=$((SLUICE_SANITY_CALLS + 1))
    [ "$code" = 200 ] || { head -c 2000 "$out" >&2 || true; echo >&2; die "sanity $kind via $target: HTTP $code (body above, saved in $out)"; }
    local s
    for s in "$@"; do
        grep -qF -- "$s" "$out" || { head -c 2000 "$out" >&2; echo >&2; die "sanity $kind via $target: answer lacks '$s' (saved in $out)"; }
    done
}
sanity json direct '"chat.completion"' 'Hello! How can I assist you today?'
sanity sse direct 'chat.completion.chunk' 'data: [DONE]'
sanity json sluice '"choices"' 'Hello! How can I assist you today?'
sanity sse sluice 'chat.completion.chunk' '[DONE]' 'assist'
# The cached purpose: the first call fills the cache, the second must be a hit.
sanity cache sluice '"choices"' 'Hello! How can I assist you today?'
sanity cache sluice '"choices"' 'Hello! How can I assist you today?'
grep -qi '^x-sluice-cache: hit' "$RUN_OUT/sanity-cache-sluice.txt.headers" \
    || die "sanity cache via sluice: the second call was not a cache hit (headers in $RUN_OUT/sanity-cache-sluice.txt.headers)"
if [ -n "$PEER_CMD" ]; then
    note "starting the peer gateway: $PEER_CMD"
    PEER_UPSTREAM=$DIRECT_BASE/v1 PEER_MODEL=${BENCH_PEER_MODEL:-$UPSTREAM_MODEL} setsid bash -c "$PEER_CMD" >"$TMP/peer.log" 2>&1 &
    PEER_PID=$!
    for ((i = 0; i < READY_TIMEOUT * 10; i++)); do
        code=$(curl -sS --max-time 2 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
            --data-binary "$(body_for json peer)" "$PEER_URL" 2>/dev/null) || code=000
        [ "$code" = 200 ] && break
        kill -0 "$PEER_PID" 2>/dev/null || { tail -n 20 "$TMP/peer.log" >&2; die "the peer gateway exited"; }
        sleep 0.1
    done
    sanity json peer 'Hello! How can I assist you today?'
fi

# ---------------------------------------------------------------- cpu, liveness
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)
# Sum of user+system clock ticks of the given processes (all their threads).
proc_ticks() {
    local total=0 pid a
    for pid in "$@"; do
        [ -r "/proc/$pid/stat" ] || continue
        a=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        read -r -a a <<<"${a##*) }"
        total=$((total + a[11] + a[12]))
    done
    echo "$total"
}
# Sluice's resident set size in KiB.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$SLUICE_PID/status" 2>/dev/null; }
nginx_pids() { echo "$NGINX_PID" $(cat /proc/"$NGINX_PID"/task/*/children 2>/dev/null); }
# "BUSY TOTAL" ticks over all CPUs, from /proc/stat.
sys_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat; }
# CPU seconds of this shell's waited-for children, from a file holding the
# output of bash's `times` (which must run in this shell, not a subshell).
child_secs() { awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$1"; }

# Waits (at most 10 s) until Sluice is idle: under 5% of a core over 0.2 s,
# so that a run does not pay for the previous run's call-log writes.
wait_quiet() {
    local i a b
    for ((i = 0; i < 50; i++)); do
        a=$(proc_ticks "$SLUICE_PID"); sleep 0.2; b=$(proc_ticks "$SLUICE_PID")
        [ $((b - a)) -le $((CLK_TCK / 100)) ] && return 0
    done
    note "sluice still busy after 10s; measuring anyway"
}

# Called when Sluice is found gone: shows how it ended and stops the bench.
sluice_died() {
    local rc=0
    wait "$SLUICE_PID" 2>/dev/null || rc=$?
    SLUICE_PID=""
    {
        echo "bench: sluice exited unexpectedly (exit status $rc) during: $1"
        echo "bench: its non-call log lines (last 20):"
        grep -v '"msg":"call"' "$SLUICE_LOG" | tail -n 20
        echo "bench: stderr:"; tail -n 20 "$TMP/sluice.stderr"
    } >&2
    die "sluice is not running (see above; logs in $TMP)"
}
check_sluice() { kill -0 "$SLUICE_PID" 2>/dev/null || sluice_died "$1"; }

# ---------------------------------------------------------------- wrk
# Runs wrk and sets W_REQ W_RPS W_P50 W_P99 W_ERR (W_* latencies in µs).
run_wrk() { # NAME KIND TARGET THREADS CONNS SECONDS
    local name=$1 kind=$2 target=$3 t=$4 c=$5 d=$6 out=$RUN_OUT/wrk-$1.txt line kv
    local body url sys0 sys1 sl0 sl1 ng0 ng1 ch0 ch1
    body=$(body_for "$kind" "$target"); url=$(url_for "$kind" "$target")
    check_sluice "before wrk $name"
    # Sluice's resident memory, sampled every 0.5 s during the run.
    local sampler=""
    if [ "$target" = sluice ]; then
        (while kill -0 "$SLUICE_PID" 2>/dev/null; do rss_kib; sleep 0.5; done) >"$TMP/rss-$name.txt" 2>/dev/null &
        sampler=$!
    fi
    sys0=$(sys_ticks); sl0=$(proc_ticks "$SLUICE_PID"); ng0=$(proc_ticks $(nginx_pids)); times >"$TMP/times0"
    BENCH_BODY=$body BENCH_HEADERS=$(headers_for "$kind" "$target") timeout -k 5 $((d + WRK_TIMEOUT + 30)) \
        wrk -t"$t" -c"$c" -d"${d}s" --timeout "${WRK_TIMEOUT}s" --latency \
        -s "$BENCH_DIR/post.lua" "$url" >"$out" 2>&1 \
        || { cat "$out" >&2; check_sluice "wrk $name"; die "wrk $name failed"; }
    sys1=$(sys_ticks); sl1=$(proc_ticks "$SLUICE_PID"); ng1=$(proc_ticks $(nginx_pids)); times >"$TMP/times1"
    W_RSS_MAX=""
    if [ -n "$sampler" ]; then
        kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
        W_RSS_MAX=$(awk 'BEGIN { m = 0 } $1 > m { m = $1 } END { printf "%.1f", m / 1024 }' "$TMP/rss-$name.txt")
    fi
    ch0=$(child_secs "$TMP/times0"); ch1=$(child_secs "$TMP/times1")
    check_sluice "wrk $name"
    # CPU during the run, in % of one core: wrk nginx sluice other free.
    # wrk/nginx/sluice come from per-process accounting (precise); other is
    # the system's busy time (/proc/stat, tick-sampled, so approximate) minus
    # theirs; free is what is left of NCPU cores.
    read -r W_CPU_WRK W_CPU_NGINX W_CPU_SLUICE W_CPU_OTHER W_CPU_IDLE < <(awk \
        -v b0="${sys0% *}" -v t0="${sys0#* }" -v b1="${sys1% *}" -v t1="${sys1#* }" -v n="$NCPU" -v hz="$CLK_TCK" \
        -v sl=$((sl1 - sl0)) -v ng=$((ng1 - ng0)) -v ch0="$ch0" -v ch1="$ch1" 'BEGIN {
            core = (t1 - t0) / n; if (core <= 0) core = 1
            wrk = (ch1 - ch0) * hz; busy = b1 - b0; other = busy - wrk - sl - ng; if (other < 0) other = 0
            free = 100 * n - 100 * (wrk + ng + sl + other) / core; if (free < 0) free = 0
            printf "%.0f %.0f %.0f %.0f %.0f\n", 100 * wrk / core, 100 * ng / core, 100 * sl / core, 100 * other / core, free }')
    W_SLUICE_TICKS=$((sl1 - sl0))
    W_REQ="" W_RPS="" W_P50="" W_P99="" W_ERR=0
    line=$(grep '^BENCH_RESULT ' "$out" | tail -n 1 || true)
    if [ -n "$line" ]; then
        local dur=""
        for kv in $line; do
            case $kv in
                requests=*) W_REQ=${kv#*=} ;;
                duration_us=*) dur=${kv#*=} ;;
                p50_us=*) W_P50=${kv#*=} ;;
                p99_us=*) W_P99=${kv#*=} ;;
                non2xx=* | *_err=*) W_ERR=$((W_ERR + ${kv#*=})) ;;
            esac
        done
        W_RPS=$(awk -v r="$W_REQ" -v d="$dur" 'BEGIN { printf "%.1f", (d > 0 ? r * 1e6 / d : 0) }')
    else
        # Fallback: parse wrk's text report (latencies in us/ms/s/m).
        read -r W_REQ W_RPS W_P50 W_P99 W_ERR < <(awk '
            function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000;
                             if (v ~ /m$/) return v * 60e6; if (v ~ /s$/) return v * 1e6; return v + 0 }
            / requests in / { req = $1 }
            /Requests\/sec:/ { rps = $2 }
            /^ +50%/ { p50 = us($2) }
            /^ +99%/ { p99 = us($2) }
            /Non-2xx or 3xx responses:/ { err += $NF }
            /Socket errors:/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) err += $i + 0 }
            END { printf "%s %s %d %d %d\n", req, rps, p50, p99, err }' "$out")
    fi
    [ -n "$W_REQ" ] && [ -n "$W_RPS" ] || { cat "$out" >&2; die "could not parse wrk output for $name ($out)"; }
}

SLUICE_WRK_REQUESTS=0   # completed through Sluice, per wrk
SLUICE_WRK_INFLIGHT=0   # connections open at the end of each Sluice run
count_sluice() { SLUICE_WRK_REQUESTS=$((SLUICE_WRK_REQUESTS + W_REQ)); SLUICE_WRK_INFLIGHT=$((SLUICE_WRK_INFLIGHT + $1)); } # CONNS

IDLE_RSS_KIB=$(rss_kib)
say "Sluice bench  $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "  host:    $(nproc) cores, $(awk -F: '/model name/ { sub(/^ +/, "", $2); print $2; exit }' /proc/cpuinfo 2>/dev/null), $(uname -sr)"
say "  sluice:  $SLUICE_BIN (repo $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO_DIR" diff --quiet HEAD -- Sources Package.swift 2>/dev/null || echo ', Sources modified'); binary built $(date -u -r "$SLUICE_BIN" +%Y-%m-%dT%H:%M:%SZ))"
say "  tools:   $(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }'), $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), worker_processes 1"
say "  run:     ${DURATION}s per point, ${WARMUP}s warm-up, points: $POINTS"
say "  output:  $RUN_OUT"
say "  sluice start-up: ${STARTUP_MS} ms from launch to GET /readyz 200 (fresh SQLite database, migrations included)"
say "  sluice RSS idle after start: $(awk -v k="$IDLE_RSS_KIB" 'BEGIN { printf "%.1f", k / 1024 }') MiB"
say ""

if [ "$WARMUP" -gt 0 ]; then
    for kind in $(for p in $POINTS; do echo "${p%%:*}"; done | sort -u); do
        note "warm-up $kind (${WARMUP}s direct, ${WARMUP}s through sluice)"
        run_wrk "warmup-$kind-direct" "$kind" direct 1 8 "$WARMUP"
        run_wrk "warmup-$kind-sluice" "$kind" sluice 1 8 "$WARMUP"
        count_sluice 8
        sleep "$PAUSE"; wait_quiet
    done
fi

ROWS=()
CPU_ROWS=()
PEER_ROWS=()
wait_quiet
for p in $POINTS; do
    IFS=: read -r kind t c <<<"$p"
    label="$kind t$t c$c"
    attempt=0
    while true; do
        attempt=$((attempt + 1))
        note "measuring $label: ${DURATION}s direct, then ${DURATION}s through sluice"
        run_wrk "$kind-t$t-c$c-direct" "$kind" direct "$t" "$c" "$DURATION"
        d=("$W_REQ" "$W_RPS" "$W_P50" "$W_P99" "$W_ERR")
        d_cpu="$label direct|$W_CPU_WRK|$W_CPU_NGINX|$W_CPU_SLUICE|$W_CPU_OTHER|$W_CPU_IDLE|"
        d_other=$W_CPU_OTHER
        sleep "$PAUSE"; wait_quiet
        run_wrk "$kind-t$t-c$c-sluice" "$kind" sluice "$t" "$c" "$DURATION"
        count_sluice "$c"
        sleep "$PAUSE"; wait_quiet
        # Something else on the machine during either run skews the pair: measure it again.
        if [ "$d_other" -gt "$MAX_OTHER" ] || [ "$W_CPU_OTHER" -gt "$MAX_OTHER" ]; then
            if [ "$attempt" -le "$RETRIES" ]; then
                note "$label: other processes used ${d_other}% / ${W_CPU_OTHER}% of a core during the direct / sluice run (over BENCH_MAX_OTHER=$MAX_OTHER); measuring the point again"
                say "  $label: measured again, attempt $((attempt + 1)): other processes used ${d_other}% / ${W_CPU_OTHER}% of a core (direct / sluice)"
                continue
            fi
            say "  $label: other processes used ${d_other}% / ${W_CPU_OTHER}% of a core (direct / sluice) in every attempt; kept the last"
        fi
        break
    done
    ROWS+=("$label|${d[1]}|$W_RPS|${d[2]}|$W_P50|${d[3]}|$W_P99|${d[4]}|$W_ERR|${d[0]}|$W_REQ")
    CPU_ROWS+=("$d_cpu")
    CPU_ROWS+=("$label sluice|$W_CPU_WRK|$W_CPU_NGINX|$W_CPU_SLUICE|$W_CPU_OTHER|$W_CPU_IDLE|$(awk -v t="$W_SLUICE_TICKS" -v hz="$CLK_TCK" -v r="$W_REQ" 'BEGIN { printf "%.1f", (r > 0 ? t / hz * 1e6 / r : 0) }')|$W_RSS_MAX")
    if [ -n "$PEER_CMD" ] && [ "$kind" = json ]; then
        run_wrk "$kind-t$t-c$c-peer" "$kind" peer "$t" "$c" "$DURATION"
        PEER_ROWS+=("$label|${d[1]}|$W_RPS|${d[2]}|$W_P50|$W_ERR")
        sleep "$PAUSE"
    fi
done

# ---------------------------------------------------------------- soak
SOAK_LINE=""
if [ "$SOAK" -gt 0 ]; then
    note "soak: ${SOAK}s at json t2 c64 through sluice, RSS sampled every 0.5 s"
    soak_rss0=$(rss_kib)
    run_wrk "soak-json-t2-c64-sluice" json sluice 2 64 "$SOAK"
    count_sluice 64
    # RSS at start (before the load), middle and end of the run, and its maximum.
    SOAK_LINE=$(awk -v r0="$soak_rss0" -v req="$W_REQ" -v rps="$W_RPS" -v err="$W_ERR" '
        { v[NR] = $1; if ($1 > m) m = $1 }
        END { mid = v[int((NR + 1) / 2)]; end = v[NR]
              printf "soak %ds json t2 c64: %d requests (%.0f rps, errors %d); RSS MiB idle before %.1f, start %.1f, middle %.1f, end %.1f, max %.1f; end vs start %+.1f%%",
                  '"$SOAK"', req, rps, err, r0 / 1024, v[1] / 1024, mid / 1024, end / 1024, m / 1024, (v[1] > 0 ? 100 * (end - v[1]) / v[1] : 0) }' \
        "$TMP/rss-soak-json-t2-c64-sluice.txt")
    wait_quiet
fi

# ---------------------------------------------------------------- table
{
    printf '%-14s %11s %11s %7s %10s %10s %9s %10s %10s %9s %9s\n' \
        point "direct rps" "sluice rps" ratio "direct p50" "sluice p50" "added p50" "direct p99" "sluice p99" "added p99" "errors"
    printf '%-14s %11s %11s %7s %10s %10s %9s %10s %10s %9s %9s\n' \
        "" "" "" "s/d" "(us)" "(us)" "(us)" "(us)" "(us)" "(us)" "d/s"
    for r in "${ROWS[@]}"; do
        IFS='|' read -r label drps srps dp50 sp50 dp99 sp99 derr serr _dreq _sreq <<<"$r"
        awk -v l="$label" -v dr="$drps" -v sr="$srps" -v d5="$dp50" -v s5="$sp50" -v d9="$dp99" -v s9="$sp99" \
            -v de="$derr" -v se="$serr" 'BEGIN {
            printf "%-14s %11.1f %11.1f %7.3f %10d %10d %9d %10d %10d %9d %9s\n",
                l, dr, sr, (dr > 0 ? sr / dr : 0), d5, s5, s5 - d5, d9, s9, s9 - d9, de "/" se }'
    done
} | tee -a "$RESULTS"
say ""
say "  ratio = sluice rps / direct rps; added = sluice latency - direct latency, same run, same point."
say "  errors = non-2xx responses + socket errors, direct/sluice. Raw wrk output: $RUN_OUT/wrk-*.txt"
say ""
{
    echo "CPU during each run, % of one core ($NCPU cores = $((NCPU * 100))%); other = rest of the machine (approx.)"
    printf '%-21s %6s %6s %7s %6s %6s %16s %15s\n' run wrk nginx sluice other free "sluice cpu us/req" "sluice rss MiB"
    for r in "${CPU_ROWS[@]}"; do
        IFS='|' read -r label w n sl o i per rss <<<"$r"
        printf '%-21s %6s %6s %7s %6s %6s %16s %15s\n' "$label" "$w" "$n" "$sl" "$o" "$i" "$per" "$rss"
    done
    echo "  sluice rss MiB = the largest resident set size sampled (every 0.5 s) during the run"
} | tee -a "$RESULTS"
say ""
if [ ${#PEER_ROWS[@]} -gt 0 ]; then
    {
        echo "Peer gateway ($PEER_URL), same points, same direct runs"
        printf '%-14s %11s %11s %7s %10s %9s %7s\n' point "direct rps" "peer rps" ratio "peer p50" "added p50" errors
        for r in "${PEER_ROWS[@]}"; do
            IFS='|' read -r label drps prps dp50 pp50 perr <<<"$r"
            awk -v l="$label" -v dr="$drps" -v pr="$prps" -v d5="$dp50" -v p5="$pp50" -v e="$perr" 'BEGIN {
                printf "%-14s %11.1f %11.1f %7.3f %10d %9d %7s\n", l, dr, pr, (dr > 0 ? pr / dr : 0), p5, p5 - d5, e }'
        done
    } | tee -a "$RESULTS"
    say ""
fi
[ -n "$SOAK_LINE" ] && { say "$SOAK_LINE"; say ""; }

# ---------------------------------------------------------------- call log check
note "stopping sluice (SIGTERM) and waiting up to ${STOP_TIMEOUT}s for it to drain its call log"
stop_start=$(date +%s.%N)
if stop_pid "$SLUICE_PID" TERM "$STOP_TIMEOUT" sluice; then stop_how="exited after SIGTERM"; else stop_how="had to be SIGKILLed"; fi
stop_s=$(awk -v a="$stop_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
SLUICE_PID=""
cp "$TMP/sluice.stderr" "$RUN_OUT/sluice.stderr" 2>/dev/null || true
tail -n 20 "$SLUICE_LOG" >"$RUN_OUT/sluice-log-tail.jsonl" 2>/dev/null || true
stopped_line=$(grep '"sluice stopped"' "$SLUICE_LOG" | tail -n 1 || true)
log_lines=$(wc -l <"$SLUICE_LOG")

expected=$((SLUICE_WRK_REQUESTS + SLUICE_SANITY_CALLS))
if rows=$(sqlite3 "$TMP/sluice.db" 'SELECT count(*) FROM calls;' 2>"$TMP/sqlite.err"); then :; else
    rows="?"; note "sqlite3 failed: $(cat "$TMP/sqlite.err")"
fi
say "Call log (Sluice $stop_how in ${stop_s}s; stdout log has $log_lines lines)"
say "  rows in calls table:                  $rows"
say "  requests completed through Sluice:    $expected  (wrk incl. warm-up: $SLUICE_WRK_REQUESTS, sanity curls: $SLUICE_SANITY_CALLS)"
if [ "$rows" != "?" ]; then
    diff=$((rows - expected))
    say "  difference (rows - completed):        $diff  (0..$SLUICE_WRK_INFLIGHT expected: wrk stops with up to one request in flight per connection)"
    if [ "$diff" -lt 0 ] || [ "$diff" -gt "$SLUICE_WRK_INFLIGHT" ]; then
        say "  WARNING: the call log does not match the requests Sluice answered"
    fi
    say ""
    say "  by model / stream / status (calls table):"
    sqlite3 -separator ' | ' "$TMP/sluice.db" \
        "SELECT model, stream, status, http_status, count(*), printf('latency_ms avg %.3f', avg(latency_ms)), printf('overhead_ms avg %.3f', avg(overhead_ms)) FROM calls GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4;" \
        2>&1 | sed 's/^/    /' | tee -a "$RESULTS"
fi
[ -n "$stopped_line" ] && say "  last log line at stop: $stopped_line"
say ""
note "results saved in $RESULTS"
