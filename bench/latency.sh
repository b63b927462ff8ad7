#!/usr/bin/env bash
# Sluice at realistic upstream latency: the fast lane and the lean client, on and off.
#
# A fake upstream (bench/upstream, SwiftNIO) answers a chat completion after a delay
# (500 ms) or streams ~20 chunks (first after 500 ms, then every 25 ms). wrk drives it
# directly and through Sluice in up to five variants, each a fresh `sluice serve` with the
# production defaults (virtual-key auth, SQLite call log with log_bodies: full, the
# JSON request log on stdout):
#   default   fast lane on,  lean client on
#   nolane    SLUICE_FAST_LANE=0
#   nolean    SLUICE_LEAN_HTTP=0
#   neither   SLUICE_FAST_LANE=0 SLUICE_LEAN_HTTP=0
#   alt       another binary, LAT_ALT_BIN, with no switches (e.g. the same code after a change,
#             so that before and after run back to back in one run)
# The switches exist up to 2cdcdb4 (both shortcuts were removed after this measurement); a later
# binary ignores them, so measure it as `default`, or as `alt` beside an older one.
# For every point (KIND:CONNECTIONS) the variants run back to back, so that a change
# in the machine's load hits them alike; the whole set is repeated LAT_ROUNDS times.
# Loopback only; every load run is bounded by `timeout`.
#
# Environment (all optional):
#   SLUICE_BIN        the sluice binary          (default .build-release/release/sluice; built if missing)
#   LAT_ALT_BIN       the binary of the `alt` variant (required when LAT_VARIANTS names alt); LAT_ALT_LABEL its label
#   UPSTREAM_BIN      the fake upstream binary   (default bench/upstream/.build-upstream/release/fake-upstream; built if missing)
#   LAT_POINTS        KIND:CONNECTIONS list      (default "json:64 json:1000 sse:64 sse:1000"), KIND json or sse
#   LAT_VARIANTS      which runs per point       (default "direct default nolane nolean neither")
#   LAT_ROUNDS        times the whole set runs   (default 1)
#   LAT_DURATION      seconds per measured run   (default 15)
#   LAT_WARMUP        seconds of warm-up at the same point before each run (default 5)
#   LAT_DELAY_MS      upstream delay             (default 500)
#   LAT_CHUNKS        stream content chunks      (default 20)
#   LAT_CHUNK_MS      stream chunk interval      (default 25)
#   LAT_JITTER_MS     each answer's delay varies by up to this, uniformly, so that connections do not
#                     answer in lockstep (fewer edge effects at the end of a run); the mean stays LAT_DELAY_MS (default 50)
#   LAT_WRK_THREADS   wrk threads                (default 2)
#   LAT_WRK_TIMEOUT   wrk per-request timeout, s (default 10)
#   LAT_MAX_OTHER     % of one core other processes may use during a run before it is run again (default 30)
#   LAT_RETRIES       how often a disturbed run is repeated (default 2)
#   LAT_QUIET_WAIT    seconds to wait, before each run, for the rest of the machine to use under
#                     LAT_MAX_OTHER % of a core (over 2 s); then it runs anyway (default 120)
#   LAT_NICE          niceness for this script and all it starts (wrk, the fake, Sluice), when root;
#                     -10 lets a run hold its CPU share on a machine where others compile (default 0)
#   LAT_UPSTREAM_PORT (default 18190)   LAT_SLUICE_PORT (default 18181)
#   LAT_LABEL         free text printed beside the binary in the results, e.g. its commit
#   LAT_OUT           results folder             (default bench/out/latency-<timestamp>)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)

POINTS=${LAT_POINTS:-"json:64 json:1000 sse:64 sse:1000"}
VARIANTS=${LAT_VARIANTS:-"direct default nolane nolean neither"}
ROUNDS=${LAT_ROUNDS:-1}
DURATION=${LAT_DURATION:-15}
WARMUP=${LAT_WARMUP:-5}
DELAY_MS=${LAT_DELAY_MS:-500}
CHUNKS=${LAT_CHUNKS:-20}
CHUNK_MS=${LAT_CHUNK_MS:-25}
JITTER_MS=${LAT_JITTER_MS:-50}
WRK_THREADS=${LAT_WRK_THREADS:-2}
WRK_TIMEOUT=${LAT_WRK_TIMEOUT:-10}
MAX_OTHER=${LAT_MAX_OTHER:-30}
RETRIES=${LAT_RETRIES:-2}
QUIET_WAIT=${LAT_QUIET_WAIT:-120}
NICE=${LAT_NICE:-0}
UP_PORT=${LAT_UPSTREAM_PORT:-18190}
SL_PORT=${LAT_SLUICE_PORT:-18181}
OUT=${LAT_OUT:-$BENCH_DIR/out/latency-$(date +%Y%m%d-%H%M%S)}
HOST=127.0.0.1
MODEL=gpt-4o-mini-2024-07-18
KEY=sk-sluice-bench-latency-0123456789

die() { echo "latency: error: $*" >&2; exit 1; }
note() { echo "latency: $*" >&2; }

for v in ROUNDS DURATION WARMUP DELAY_MS CHUNKS CHUNK_MS JITTER_MS WRK_THREADS WRK_TIMEOUT MAX_OTHER RETRIES QUIET_WAIT UP_PORT SL_PORT; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
for p in $POINTS; do [[ $p =~ ^(json|sse):[0-9]+$ ]] || die "bad point '$p' (want json:N or sse:N)"; done
for v in $VARIANTS; do [[ $v =~ ^(direct|default|nolane|nolean|neither|alt)$ ]] || die "bad variant '$v'"; done
ALT_BIN=${LAT_ALT_BIN:-}
if [[ " $VARIANTS " == *" alt "* ]]; then [ -x "$ALT_BIN" ] || die "variant alt needs LAT_ALT_BIN, an executable sluice binary"; fi
command -v wrk >/dev/null || die "wrk is missing (apt-get install -y wrk)"
command -v curl >/dev/null || die "curl is missing"
HAVE_SQLITE=1; command -v sqlite3 >/dev/null || HAVE_SQLITE=0

[[ $NICE =~ ^-?[0-9]+$ ]] || die "LAT_NICE must be a whole number, got '$NICE'"
if [ "$NICE" != 0 ]; then renice -n "$NICE" -p $$ >/dev/null || die "renice $NICE failed (needs root for a negative value)"; fi

# Open files: 1,000 client connections plus as many upstream ones, per process.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -ge 4096 ] || die "ulimit -n is $(ulimit -n); need at least 4096"

# ---------------------------------------------------------------- binaries
SLUICE_BIN=${SLUICE_BIN:-$REPO_DIR/.build-release/release/sluice}
if [ ! -x "$SLUICE_BIN" ]; then
    note "building $SLUICE_BIN (release; takes a while)"
    (cd "$REPO_DIR" && timeout 3600 swift build -c release --product sluice --scratch-path .build-release) || die "sluice build failed"
fi
UPSTREAM_BIN=${UPSTREAM_BIN:-$BENCH_DIR/upstream/.build-upstream/release/fake-upstream}
if [ ! -x "$UPSTREAM_BIN" ]; then
    note "building $UPSTREAM_BIN"
    timeout 1800 swift build -c release --package-path "$BENCH_DIR/upstream" --scratch-path "$BENCH_DIR/upstream/.build-upstream" \
        || die "fake upstream build failed"
fi

port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
port_in_use "$UP_PORT" && die "port $UP_PORT is in use (LAT_UPSTREAM_PORT)"
port_in_use "$SL_PORT" && die "port $SL_PORT is in use (LAT_SLUICE_PORT)"

mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/sluice-latency.XXXXXX)
RESULTS=$OUT/results.txt
: >"$RESULTS"
say() { echo "$*" | tee -a "$RESULTS"; }

UP_PID=""
SL_PID=""
stop_pid() { # PID SIG WAIT
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill "-$2" "$pid" 2>/dev/null || true
    for ((i = 0; i < $3 * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 1
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    stop_pid "$SL_PID" TERM 20
    stop_pid "$UP_PID" TERM 5
    [ "$rc" -eq 0 ] && rm -rf "$TMP" || note "temp dir kept: $TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_http() { # URL PID
    local i
    for ((i = 0; i < 300; i++)); do
        kill -0 "$2" 2>/dev/null || return 1
        curl -fsS --max-time 1 -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------- fake upstream
"$UPSTREAM_BIN" --host "$HOST" --port "$UP_PORT" --delay-ms "$DELAY_MS" --chunks "$CHUNKS" --chunk-ms "$CHUNK_MS" --jitter-ms "$JITTER_MS" \
    >"$TMP/upstream.log" 2>&1 &
UP_PID=$!
wait_http "http://$HOST:$UP_PORT/healthz" "$UP_PID" || { cat "$TMP/upstream.log" >&2; die "fake upstream did not come up"; }

# ---------------------------------------------------------------- sluice
cat >"$TMP/sluice.yaml" <<EOF
server: { host: $HOST, port: $SL_PORT }
storage: { url: "sqlite://$TMP/sluice.db", log_bodies: full }
auth:
  keys:
    - { name: bench, key: $KEY }
providers:
  fake: { type: openai_compatible, base_url: "http://$HOST:$UP_PORT/v1" }
models:
  bench:
    targets:
      - { provider: fake, model: $MODEL }
EOF

SL_RUNS=0
start_sluice() { # VARIANT
    local env=() bin=$SLUICE_BIN
    case $1 in
        alt) bin=$ALT_BIN ;;
        default) ;;
        nolane) env=(SLUICE_FAST_LANE=0) ;;
        nolean) env=(SLUICE_LEAN_HTTP=0) ;;
        neither) env=(SLUICE_FAST_LANE=0 SLUICE_LEAN_HTTP=0) ;;
    esac
    SL_RUNS=$((SL_RUNS + 1))
    rm -f "$TMP"/sluice.db*
    env "${env[@]}" "$bin" serve --config "$TMP/sluice.yaml" --port "$SL_PORT" \
        >"$TMP/sluice-$SL_RUNS.log" 2>"$TMP/sluice-$SL_RUNS.stderr" &
    SL_PID=$!
    wait_http "http://$HOST:$SL_PORT/healthz" "$SL_PID" \
        || { tail -n 20 "$TMP/sluice-$SL_RUNS.stderr" >&2; die "sluice ($1) did not come up"; }
}
# Stops Sluice, lets it drain its call log, and sets CALL_ROWS (rows in the calls table).
stop_sluice() {
    stop_pid "$SL_PID" TERM 60 || note "sluice had to be killed"
    SL_PID=""
    CALL_ROWS="?"
    [ "$HAVE_SQLITE" = 1 ] && CALL_ROWS=$(sqlite3 "$TMP/sluice.db" 'SELECT count(*) FROM calls;' 2>/dev/null || echo "?")
}

body_for() { # KIND TARGET
    local m=bench s=""
    [ "$2" = direct ] && m=$MODEL
    [ "$1" = sse ] && s=',"stream":true'
    printf '{"model":"%s","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"How should we put a gateway in front of our model providers?"}]%s}' "$m" "$s"
}
url_for() { [ "$1" = direct ] && echo "http://$HOST:$UP_PORT/v1/chat/completions" || echo "http://$HOST:$SL_PORT/v1/chat/completions"; }

# One checked call each way before measuring.
sanity() { # KIND TARGET
    local out=$OUT/sanity-$1-$2.txt code
    code=$(curl -sS --max-time 15 -o "$out" -w '%{http_code}' -H 'Content-Type: application/json' -H "Authorization: Bearer $KEY" \
        --data-binary "$(body_for "$1" "$2")" "$(url_for "$2")") || code=000
    [ "$code" = 200 ] || { head -c 1000 "$out" >&2; die "sanity $1 via $2: HTTP $code"; }
    grep -q 'gateway in front' "$out" || die "sanity $1 via $2: answer lacks the message text ($out)"
    if [ "$1" = sse ]; then grep -q '\[DONE\]' "$out" || die "sanity sse via $2: no [DONE] ($out)"; fi
}
start_sluice default
sanity json direct; sanity sse direct; sanity json sluice; sanity sse sluice
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H 'Authorization: Bearer sk-wrong-key-00000000' \
    --data-binary "$(body_for json sluice)" "$(url_for sluice)" || true)
[ "$code" = 401 ] || die "sluice answered HTTP $code to a wrong key; virtual-key auth is not on"
stop_sluice

# ---------------------------------------------------------------- measuring
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)
proc_ticks() { local a; a=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }; read -r -a a <<<"${a##*) }"; echo $((a[11] + a[12])); }
sys_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat; }
child_secs() { awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$1"; }
# The kernel's count of connections dropped because a listen queue was full (all sockets).
listen_overflows() { nstat -az TcpExtListenOverflows 2>/dev/null | awk '/ListenOverflows/ { print $2; exit }'; }
wait_quiet() { # PID: until it uses under 5 % of a core over 0.2 s (at most 10 s)
    local i a b
    [ -n "$1" ] || return 0
    for ((i = 0; i < 50; i++)); do
        a=$(proc_ticks "$1"); sleep 0.2; b=$(proc_ticks "$1")
        [ $((b - a)) -le $((CLK_TCK / 20)) ] && return 0
    done
}

# Waits (at most QUIET_WAIT s) until the machine, less our idle processes, is quieter than MAX_OTHER.
wait_machine_quiet() {
    local start=$SECONDS s0 s1 busy
    while true; do
        s0=$(sys_ticks); sleep 2; s1=$(sys_ticks)
        busy=$(awk -v b0="${s0% *}" -v t0="${s0#* }" -v b1="${s1% *}" -v t1="${s1#* }" -v n="$NCPU" \
            'BEGIN { core = (t1 - t0) / n; printf "%.0f", (core > 0 ? 100 * (b1 - b0) / core : 0) }')
        [ "$busy" -le "$MAX_OTHER" ] && break
        [ $((SECONDS - start)) -ge "$QUIET_WAIT" ] && { note "machine still busy (${busy}% of a core) after ${QUIET_WAIT}s; running anyway"; break; }
    done
    [ $((SECONDS - start)) -gt 3 ] && note "waited $((SECONDS - start))s for the machine to quieten (now ${busy}% of a core)"
    return 0
}

# Runs wrk; sets R_REQ R_RPS R_P50 R_P99 R_MAX R_ERR R_TIMEOUT and the CPU figures.
run_wrk() { # NAME KIND TARGET CONNS SECONDS
    local name=$1 kind=$2 target=$3 c=$4 d=$5 out=$OUT/wrk-$1.txt t=$WRK_THREADS sys0 sys1 sl0 sl1 up0 up1 ch0 ch1
    [ "$c" -ge "$t" ] || t=$c
    R_LOVF0=$(listen_overflows)
    sys0=$(sys_ticks); up0=$(proc_ticks "$UP_PID"); sl0=0; [ -n "$SL_PID" ] && sl0=$(proc_ticks "$SL_PID"); times >"$TMP/times0"
    BENCH_BODY=$(body_for "$kind" "$target") BENCH_HEADERS="Authorization: Bearer $KEY" timeout -k 5 $((d + WRK_TIMEOUT + 30)) \
        wrk -t"$t" -c"$c" -d"${d}s" --timeout "${WRK_TIMEOUT}s" --latency -s "$BENCH_DIR/post.lua" "$(url_for "$target")" >"$out" 2>&1 \
        || { cat "$out" >&2; die "wrk $name failed"; }
    sys1=$(sys_ticks); up1=$(proc_ticks "$UP_PID"); sl1=0; [ -n "$SL_PID" ] && sl1=$(proc_ticks "$SL_PID"); times >"$TMP/times1"
    ch0=$(child_secs "$TMP/times0"); ch1=$(child_secs "$TMP/times1")
    R_LOVF=$(( $(listen_overflows || echo 0) - ${R_LOVF0:-0} )) 2>/dev/null || R_LOVF="?"
    [ -z "$SL_PID" ] || kill -0 "$SL_PID" 2>/dev/null || die "sluice died during $name (logs in $TMP)"
    kill -0 "$UP_PID" 2>/dev/null || die "the fake upstream died during $name"
    R_SL_TICKS=$((sl1 - sl0)); R_UP_TICKS=$((up1 - up0))
    read -r R_CPU_WRK R_CPU_UP R_CPU_SL R_CPU_OTHER < <(awk -v b0="${sys0% *}" -v t0="${sys0#* }" -v b1="${sys1% *}" -v t1="${sys1#* }" \
        -v n="$NCPU" -v hz="$CLK_TCK" -v sl="$R_SL_TICKS" -v up="$R_UP_TICKS" -v ch0="$ch0" -v ch1="$ch1" 'BEGIN {
            core = (t1 - t0) / n; if (core <= 0) core = 1
            wrk = (ch1 - ch0) * hz; other = (b1 - b0) - wrk - sl - up; if (other < 0) other = 0
            printf "%.0f %.0f %.0f %.0f\n", 100 * wrk / core, 100 * up / core, 100 * sl / core, 100 * other / core }')
    local line kv dur=0
    line=$(grep '^BENCH_RESULT ' "$out" | tail -n 1) || die "no BENCH_RESULT line in $out"
    R_ERR=0; R_TIMEOUT=0
    for kv in $line; do
        case $kv in
            requests=*) R_REQ=${kv#*=} ;;
            duration_us=*) dur=${kv#*=} ;;
            p50_us=*) R_P50=${kv#*=} ;;
            p99_us=*) R_P99=${kv#*=} ;;
            max_us=*) R_MAX=${kv#*=} ;;
            timeout_err=*) R_TIMEOUT=${kv#*=}; R_ERR=$((R_ERR + ${kv#*=})) ;;
            non2xx=* | *_err=*) R_ERR=$((R_ERR + ${kv#*=})) ;;
        esac
    done
    R_RPS=$(awk -v r="$R_REQ" -v d="$dur" 'BEGIN { printf "%.1f", (d > 0 ? r * 1e6 / d : 0) }')
}

ideal_s() { # KIND: the upstream's mean answer time in seconds
    if [ "$1" = sse ]; then awk -v d="$DELAY_MS" -v n="$CHUNKS" -v c="$CHUNK_MS" 'BEGIN { print (d + n * c) / 1000 }'
    else awk -v d="$DELAY_MS" 'BEGIN { print d / 1000 }'; fi
}

say "Sluice at realistic upstream latency  $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "  host:     $NCPU cores, $(awk -F: '/model name/ { sub(/^ +/, "", $2); print $2; exit }' /proc/cpuinfo), $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
say "  sluice:   $SLUICE_BIN${LAT_LABEL:+ ($LAT_LABEL)}, built $(date -u -r "$SLUICE_BIN" +%Y-%m-%dT%H:%M:%SZ), $(sha256sum "$SLUICE_BIN" | cut -c1-12); bench scripts at $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')"
[ -n "$ALT_BIN" ] && say "  alt:      $ALT_BIN${LAT_ALT_LABEL:+ ($LAT_ALT_LABEL)}, built $(date -u -r "$ALT_BIN" +%Y-%m-%dT%H:%M:%SZ), $(sha256sum "$ALT_BIN" | cut -c1-12)"
say "  upstream: $(head -n 1 "$TMP/upstream.log")"
say "  wrk:      $(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }'), $WRK_THREADS threads, --timeout ${WRK_TIMEOUT}s; ${DURATION}s per run after ${WARMUP}s warm-up; ulimit -n $(ulimit -n); nice $(nice)"
say "  sluice config: virtual-key auth (Authorization: Bearer), SQLite call log (log_bodies: full), JSON request log on stdout; a fresh process per run"
say "  output:   $OUT"
say ""

ROWS=()
declare -A DIRECT_P50 DIRECT_RPS
for ((round = 1; round <= ROUNDS; round++)); do
    for p in $POINTS; do
        kind=${p%%:*}; c=${p#*:}
        ideal=$(awk -v c="$c" -v s="$(ideal_s "$kind")" 'BEGIN { printf "%.1f", c / s }')
        for v in $VARIANTS; do
            attempt=0
            while true; do
                attempt=$((attempt + 1))
                name="r$round-$kind-c$c-$v-a$attempt"
                target=sluice; [ "$v" = direct ] && target=direct
                wait_machine_quiet
                [ "$target" = sluice ] && start_sluice "$v"
                if [ "$WARMUP" -gt 0 ]; then
                    note "$name: warm-up ${WARMUP}s"
                    run_wrk "$name-warmup" "$kind" "$target" "$c" "$WARMUP"
                    wait_quiet "$SL_PID"; wait_quiet "$UP_PID"
                fi
                note "$name: measuring ${DURATION}s (load $(cut -d' ' -f1 /proc/loadavg))"
                run_wrk "$name" "$kind" "$target" "$c" "$DURATION"
                rss="-"; per_req="-"; rows="-"
                if [ "$target" = sluice ]; then
                    rss=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$SL_PID/status")
                    per_req=$(awk -v t="$R_SL_TICKS" -v hz="$CLK_TCK" -v r="$R_REQ" 'BEGIN { printf "%.0f", (r > 0 ? t / hz * 1e6 / r : 0) }')
                    stop_sluice; rows=$CALL_ROWS
                fi
                up_per_req=$(awk -v t="$R_UP_TICKS" -v hz="$CLK_TCK" -v r="$R_REQ" 'BEGIN { printf "%.0f", (r > 0 ? t / hz * 1e6 / r : 0) }')
                if [ "$R_CPU_OTHER" -gt "$MAX_OTHER" ] && [ "$attempt" -le "$RETRIES" ]; then
                    say "  $name: other processes used ${R_CPU_OTHER}% of a core; running it again"
                    sleep 2
                    continue
                fi
                break
            done
            [ "$v" = direct ] && { DIRECT_P50[$round-$p]=$R_P50; DIRECT_RPS[$round-$p]=$R_RPS; }
            vsd=$(awk -v r="$R_RPS" -v d="${DIRECT_RPS[$round-$p]:-0}" 'BEGIN { if (d > 0) printf "%.3f", r / d; else printf "-" }')
            added="-"; [ "$v" != direct ] && [ -n "${DIRECT_P50[$round-$p]:-}" ] && added=$(( (R_P50 - DIRECT_P50[$round-$p]) / 1000 ))
            row=$(awk -v r="$round" -v k="$kind" -v c="$c" -v v="$v" -v rps="$R_RPS" -v vsd="$vsd" -v ideal="$ideal" -v p50="$R_P50" -v p99="$R_P99" \
                -v added="$added" -v err="$R_ERR" -v to="$R_TIMEOUT" -v req="$R_REQ" -v rows="$rows" -v cpu="$R_CPU_SL" -v per="$per_req" \
                -v rss="$rss" -v up="$up_per_req" -v wrk="$R_CPU_WRK" -v other="$R_CPU_OTHER" -v lovf="$R_LOVF" 'BEGIN {
                printf "%-2s %-5s %5d %-8s %8.1f %6.1f%% %6s %8.1f %8.1f %7s %6d/%-5d %8d %8s %6s%% %7s %7s %6s %5s%% %5s%% %6s\n",
                    r, k, c, v, rps, 100 * rps / ideal, vsd, p50 / 1000, p99 / 1000, added, err, to, req, rows, cpu, per, rss, up, wrk, other, lovf }')
            ROWS+=("$row")
            echo "$row" >>"$OUT/rows.txt"
            note "$row"
        done
    done
done

{
    echo "rd kind  conns variant       rps  ideal% vs-dir  p50(ms)  p99(ms) +p50ms  err/tmout  requests  callrows sl-cpu sl-us/req rssMiB up-us/rq  wrk%  other% lsnovf"
    for r in "${ROWS[@]}"; do echo "$r"; done
    echo
    echo "ideal = connections / upstream answer time (JSON ${DELAY_MS} ms; SSE $DELAY_MS + $CHUNKS x $CHUNK_MS ms). vs-dir = rps / the direct run's rps; +p50ms = p50 minus the direct run's p50 (same point and round)."
    echo "sl-cpu = Sluice's CPU during the run, % of one core; sl-us/req = Sluice's CPU (utime+stime) per completed request, µs;"
    echo "rssMiB = Sluice's peak RSS (VmHWM, warm-up included); up-us/rq = the fake upstream's CPU per request; wrk%, other% = % of one core."
    echo "err = non-2xx + socket errors (tmout = wrk timeouts, ${WRK_TIMEOUT}s); callrows = rows in the calls table after Sluice stopped (warm-up included);"
    echo "lsnovf = connections the kernel dropped during the measured run because a listen queue was full (TcpExtListenOverflows; the client retries the SYN after 1 s)."
} | tee -a "$RESULTS"
note "results in $RESULTS"
