#!/usr/bin/env bash
# Sluice gateway benchmark, beside its peers, in one run. See bench/README.md.
#
# The same OpenAI chat call is made, on loopback, to each TARGET:
#   direct      straight to a fake upstream
#   tensorzero  through TensorZero (../shared/peers/tensorzero, observability off)
#   litellm     through the LiteLLM proxy (../shared/peers/litellm, 1 worker, master key on)
#   sluice      through Sluice at its production defaults: a virtual key on every request, the
#               SQLite call log (log_bodies at its default), the JSON request log on stdout
# at every POINT, KIND:CONNECTIONS:
#   json        a whole chat.completion (~1.1 KB, a 530-character answer) from nginx, plain HTTP
#   sse         "stream": true, 20 content chunks + usage + [DONE] (~7 KB) from nginx, plain HTTP
#   json-tls    the json call, the upstream over HTTPS (nginx with a certificate from a bench CA)
#   sse-tls     the sse call, the upstream over HTTPS
#   streams     realistic latency: the fake upstream in bench/upstream streams 40 chunks 25 ms
#               apart after 1 s (2 s a stream); stream-load measures time to first chunk
# json/sse points run wrk; streams runs stream-load (both in bench/upstream).
#
# Environment (all optional):
#   BENCH_POINTS        (default "json:1 json:64 sse:1 json-tls:1 json-tls:64 sse-tls:1 streams:2000")
#   BENCH_TARGETS       (default "direct tensorzero litellm sluice"; direct is always measured)
#   BENCH_DURATION      seconds per wrk run                        (default 10)
#   BENCH_WARMUP        seconds of warm-up per target and point    (default 2)
#   BENCH_STREAM_SECS   seconds stream-load measures (after a 5 s ramp and warm-up) (default 30)
#   BENCH_AFTER_SECS    seconds after a streams run before its "after" RSS (default 65: past the
#                       60 s Sluice keeps idle upstream connections)
#   BENCH_SOAK          seconds of a soak through Sluice at json:64 after the points (default 0)
#   BENCH_PAUSE         idle seconds between runs                  (default 1)
#   BENCH_VENVS         where the peers' virtual environments live (default .bench-venvs in the repo)
#   TZ_VENV, LITELLM_VENV  an existing virtual environment for that peer
#   BENCH_OUT           where results go                           (default bench/out)
#   BENCH_KEEP_TMP      1 keeps the temp dir (db, logs) on success (default 0)
#   SLUICE_BIN          the sluice binary (default .build-static/release/sluice: scripts/release.sh's
#                       build, static Swift runtime; built if missing)
#   BENCH_REBUILD       1 runs the release build even if the binary exists
#   ports: BENCH_NGINX_PORT 18090, BENCH_NGINX_TLS_PORT 18091, BENCH_SLOW_PORT 18092,
#          BENCH_SLUICE_PORT 18081, BENCH_LITELLM_PORT 18100
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
PEERS_DIR=${BENCH_PEERS_DIR:-$REPO_DIR/../shared/peers}

POINTS=${BENCH_POINTS:-"json:1 json:64 sse:1 json-tls:1 json-tls:64 sse-tls:1 streams:2000"}
TARGETS=${BENCH_TARGETS:-"direct tensorzero litellm sluice"}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
STREAM_SECS=${BENCH_STREAM_SECS:-30}
AFTER_SECS=${BENCH_AFTER_SECS:-65}
SOAK=${BENCH_SOAK:-0}
PAUSE=${BENCH_PAUSE:-1}
NGINX_PORT=${BENCH_NGINX_PORT:-18090}
NGINX_TLS_PORT=${BENCH_NGINX_TLS_PORT:-18091}
SLOW_PORT=${BENCH_SLOW_PORT:-18092}
SLUICE_PORT=${BENCH_SLUICE_PORT:-18081}
LITELLM_PORT=${BENCH_LITELLM_PORT:-18100}
VENVS=${BENCH_VENVS:-$REPO_DIR/.bench-venvs}
TZ_VENV=${TZ_VENV:-$VENVS/tensorzero}
LITELLM_VENV=${LITELLM_VENV:-$VENVS/litellm}
OUT_ROOT=${BENCH_OUT:-$BENCH_DIR/out}
KEEP_TMP=${BENCH_KEEP_TMP:-0}
REBUILD=${BENCH_REBUILD:-0}
READY_TIMEOUT=60
WRK_TIMEOUT=10
STREAM_DELAY_MS=1000 STREAM_CHUNKS=40 STREAM_CHUNK_MS=25
UPSTREAM_MODEL=gpt-4o-mini-2024-07-18
HOST=127.0.0.1
KEY=sk-sluice-bench-0123456789abcdef

die() { echo "bench: error: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

for v in DURATION WARMUP STREAM_SECS AFTER_SECS SOAK PAUSE NGINX_PORT NGINX_TLS_PORT SLOW_PORT SLUICE_PORT LITELLM_PORT; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "BENCH_$v must be a whole number, got '${!v}'"
done
[ "$DURATION" -ge 1 ] || die "BENCH_DURATION must be at least 1"
for p in $POINTS; do
    [[ $p =~ ^(json|sse|json-tls|sse-tls|streams):[0-9]+$ ]] || die "bad point '$p' in BENCH_POINTS (want KIND:CONNECTIONS, KIND json, sse, json-tls, sse-tls or streams)"
    [ "${p#*:}" -ge 1 ] || die "bad point '$p': at least one connection"
done
for t in $TARGETS; do [[ $t =~ ^(direct|tensorzero|litellm|sluice)$ ]] || die "bad target '$t' in BENCH_TARGETS"; done
TARGETS="direct $(echo "$TARGETS" | tr ' ' '\n' | grep -v '^direct$' | tr '\n' ' ')"
has_target() { [[ " $TARGETS " == *" $1 "* ]]; }

TMP=$(mktemp -d /tmp/sluice-bench.XXXXXX)
RUN_OUT=$OUT_ROOT/$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN_OUT"
RESULTS=$RUN_OUT/results.txt
: >"$RESULTS"
say() { echo "$*" | tee -a "$RESULTS"; }
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

# ---------------------------------------------------------------- prerequisites
ensure_prereqs() {
    local pkgs=()
    command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || pkgs+=(nginx)
    command -v wrk >/dev/null 2>&1 || pkgs+=(wrk)
    command -v sqlite3 >/dev/null 2>&1 || pkgs+=(sqlite3)
    command -v curl >/dev/null 2>&1 || pkgs+=(curl)
    command -v openssl >/dev/null 2>&1 || pkgs+=(openssl)
    [ ${#pkgs[@]} -eq 0 ] && return 0
    note "missing: ${pkgs[*]}; installing with apt-get"
    [ "$(id -u)" -eq 0 ] || die "not root; install these yourself: ${pkgs[*]}"
    timeout 600 apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends "${pkgs[@]}" \
        || die "apt-get install ${pkgs[*]} failed"
}
ensure_prereqs
NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
has_target tensorzero && ensure_venv "$TZ_VENV" "$TZ_PIN" tensorzero
has_target litellm && ensure_venv "$LITELLM_VENV" "$LITELLM_PIN" litellm

if [ -n "${SLUICE_BIN:-}" ]; then
    [ -x "$SLUICE_BIN" ] || die "SLUICE_BIN=$SLUICE_BIN is not an executable file"
else
    # The binary users ship: scripts/release.sh's build (static Swift runtime), same scratch path.
    SLUICE_BIN=$REPO_DIR/.build-static/release/sluice
    if [ ! -x "$SLUICE_BIN" ] || [ "$REBUILD" = 1 ]; then
        note "building the release binary into $REPO_DIR/.build-static (several minutes)"
        (cd "$REPO_DIR" && swift build -c release --product sluice --static-swift-stdlib --scratch-path .build-static) \
            || die "release build failed"
    fi
fi
UP_BUILD=$BENCH_DIR/upstream/.build-upstream/release
if [ ! -x "$UP_BUILD/fake-upstream" ] || [ ! -x "$UP_BUILD/stream-load" ]; then
    note "building bench/upstream (fake-upstream, stream-load)"
    swift build -c release --package-path "$BENCH_DIR/upstream" --scratch-path "$BENCH_DIR/upstream/.build-upstream" \
        >"$TMP/upstream-build.log" 2>&1 || { tail -n 30 "$TMP/upstream-build.log" >&2; die "bench/upstream build failed"; }
fi

for p in $NGINX_PORT $NGINX_TLS_PORT $SLOW_PORT $SLUICE_PORT $LITELLM_PORT; do
    port_in_use "$p" && die "port $p is already in use (see the BENCH_*_PORT settings)"
done

NGINX_PID="" SLOW_PID="" SLUICE_PID=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    stop_pid "$SLUICE_PID" TERM 10 sluice
    stop_peers
    stop_pid "$SLOW_PID" TERM 5 fake-upstream
    stop_pid "$NGINX_PID" QUIT 5 nginx
    pkill -KILL -f "nginx: worker process" -P "$NGINX_PID" 2>/dev/null
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

# ---------------------------------------------------------------- upstreams
CERTS=$TMP/certs
make_certs "$CERTS"
JSON_FIXTURE=$BENCH_DIR/fixtures/chat-completion.json
SSE_FIXTURE=$BENCH_DIR/fixtures/chat-completion.sse
for f in "$JSON_FIXTURE" "$SSE_FIXTURE"; do
    [ -f "$f" ] || die "missing fixture $f"
    if grep -q "[\\\\'\$]" "$f"; then die "fixture $f must not contain a quote, backslash or dollar sign"; fi
done
nginx_text() { sed -z 's/\n/\\n/g' "$1"; }
mkdir -p "$TMP/nginx/client_body" "$TMP/nginx/static"
cp "$SSE_FIXTURE" "$TMP/nginx/static/stream.sse"
cat >"$TMP/nginx/nginx.conf" <<EOF
daemon off;
$([ "$(id -u)" = 0 ] && echo "user root;")
master_process on;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    server_tokens off;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    client_max_body_size 16m;
    client_body_buffer_size 1m;
    client_body_temp_path $TMP/nginx/client_body;
    ssl_certificate $CERTS/server.pem;
    ssl_certificate_key $CERTS/server.key;
    server {
        listen $HOST:$NGINX_PORT;
        listen $HOST:$NGINX_TLS_PORT ssl;
        location = /healthz { default_type text/plain; return 200 'ok'; }
        location = /v1/chat/completions { default_type application/json; return 200 '$(nginx_text "$JSON_FIXTURE")'; }
        # The stream is longer than an nginx string may be: served as a file (POST to a file is
        # a 405, which error_page turns into the file's 200).
        location = /sse/v1/chat/completions { root $TMP/nginx/static; try_files /nothing =405; error_page 405 =200 /static/stream.sse; }
        location = /static/stream.sse {
            internal;
            alias $TMP/nginx/static/stream.sse;
            default_type text/event-stream;
            add_header Cache-Control no-cache;
        }
    }
}
EOF
"$NGINX" -t -q -e "$TMP/nginx/error.log" -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" || die "nginx rejected its config"
"$NGINX" -e "$TMP/nginx/error.log" -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" &
NGINX_PID=$!
wait_http "http://$HOST:$NGINX_PORT/healthz" "$NGINX_PID" || die "nginx did not come up"
curl -fsS --cacert "$CERTS/ca.pem" -o /dev/null "https://$HOST:$NGINX_TLS_PORT/healthz" || die "nginx over TLS does not verify with the bench CA"
"$UP_BUILD/fake-upstream" --host "$HOST" --port "$SLOW_PORT" --delay-ms "$STREAM_DELAY_MS" --chunks "$STREAM_CHUNKS" \
    --chunk-ms "$STREAM_CHUNK_MS" >"$TMP/slow.log" 2>&1 &
SLOW_PID=$!
wait_http "http://$HOST:$SLOW_PORT/healthz" "$SLOW_PID" || die "the fake upstream did not come up"

# ---------------------------------------------------------------- sluice
cat >"$TMP/sluice.yaml" <<EOF
server: { host: $HOST, port: $SLUICE_PORT }
storage: { url: "sqlite://$TMP/sluice.db" }
auth:
  keys:
    - { name: bench, key: $KEY }
providers:
  plain: { type: openai_compatible, base_url: "http://$HOST:$NGINX_PORT/v1" }
  plainsse: { type: openai_compatible, base_url: "http://$HOST:$NGINX_PORT/sse/v1" }
  tls: { type: openai_compatible, base_url: "https://$HOST:$NGINX_TLS_PORT/v1", ca_file: "$CERTS/ca.pem" }
  tlssse: { type: openai_compatible, base_url: "https://$HOST:$NGINX_TLS_PORT/sse/v1", ca_file: "$CERTS/ca.pem" }
  slow: { type: openai_compatible, base_url: "http://$HOST:$SLOW_PORT/v1" }
models:
  bench: { targets: [ { provider: plain, model: $UPSTREAM_MODEL } ] }
  bench-sse: { targets: [ { provider: plainsse, model: $UPSTREAM_MODEL } ] }
  bench-tls: { targets: [ { provider: tls, model: $UPSTREAM_MODEL } ] }
  bench-tls-sse: { targets: [ { provider: tlssse, model: $UPSTREAM_MODEL } ] }
  bench-slow: { targets: [ { provider: slow, model: $UPSTREAM_MODEL } ] }
EOF
SLUICE_LOG=$TMP/sluice.log
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
start_ms=$(ms_now)
"$SLUICE_BIN" serve --config "$TMP/sluice.yaml" >"$SLUICE_LOG" 2>"$TMP/sluice.stderr" &
SLUICE_PID=$!
STARTUP_MS="?"
for ((i = 0; i < READY_TIMEOUT * 100; i++)); do
    kill -0 "$SLUICE_PID" 2>/dev/null || break
    if curl -fsS --max-time 1 -o /dev/null "http://$HOST:$SLUICE_PORT/readyz" 2>/dev/null; then
        STARTUP_MS=$(( $(ms_now) - start_ms )); break
    fi
    sleep 0.01
done
wait_http "http://$HOST:$SLUICE_PORT/healthz" "$SLUICE_PID" || { tail -n 20 "$TMP/sluice.stderr" >&2; die "sluice did not come up"; }
IDLE_RSS_KIB=$(rss_kib "$SLUICE_PID")

source "$BENCH_DIR/measure.sh"

# ---------------------------------------------------------------- header
say "Sluice bench  $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "  host:    $NCPU cores, $(awk -F: '/model name/ { sub(/^ +/, "", $2); print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
say "  sluice:  $SLUICE_BIN (commit $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO_DIR" diff --quiet HEAD -- Sources Package.swift 2>/dev/null || echo ', Sources modified'); built $(date -u -r "$SLUICE_BIN" +%Y-%m-%dT%H:%M:%SZ))"
say "           virtual key, SQLite call log (log_bodies default), JSON request log on stdout; start-up ${STARTUP_MS} ms, idle RSS $(mib "$IDLE_RSS_KIB") MiB"
has_target tensorzero && say "  peers:   $(peer_version tensorzero) (observability off)"
has_target litellm && say "           $(peer_version litellm) (1 worker, master key)"
say "  tools:   $(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }'), $("$NGINX" -v 2>&1 | sed 's/^nginx version: //') (1 worker), stream-load"
say "  run:     ${DURATION}s per run, ${WARMUP}s warm-up; streams: ${STREAM_SECS}s after 5s, ${STREAM_DELAY_MS} ms to the first of $STREAM_CHUNKS chunks ${STREAM_CHUNK_MS} ms apart"
say "  points:  $POINTS; targets: $TARGETS"
say "  output:  $RUN_OUT"
say ""

for p in $POINTS; do
    IFS=: read -r kind conns <<<"$p"
    for t in $TARGETS; do
        measure_point "$kind" "$conns" "$t"
        sleep "$PAUSE"
    done
done
stop_peers

SOAK_LINE=""
if [ "$SOAK" -gt 0 ]; then
    note "soak: ${SOAK}s at json:64 through sluice"
    soak_rss0=$(rss_kib "$SLUICE_PID")
    run_wrk soak json sluice 64 "$SOAK"
    SOAK_LINE=$(awk -v r0="$soak_rss0" -v req="$W_REQ" -v rps="$W_RPS" -v err="$W_ERR" -v s="$SOAK" '
        { v[NR] = $1; if ($1 > m) m = $1 }
        END { mid = v[int((NR + 1) / 2)]; end = v[NR]
              printf "soak %ds json:64 through sluice: %d requests (%.0f rps, errors %d); RSS MiB idle before %.1f, start %.1f, middle %.1f, end %.1f, max %.1f; end vs start %+.1f%%",
                  s, req, rps, err, r0 / 1024, v[1] / 1024, mid / 1024, end / 1024, m / 1024, (v[1] > 0 ? 100 * (end - v[1]) / v[1] : 0) }' \
        "$TMP/rss-soak.txt")
fi

print_table
[ -n "$SOAK_LINE" ] && { say "$SOAK_LINE"; say ""; }
check_call_log
note "results saved in $RESULTS"
