# Measuring for bench/run.sh: requests per target, wrk and stream-load runs, the table, the
# call-log check. Sourced after the upstreams and Sluice are up.

# ---------------------------------------------------------------- requests
is_stream() { [[ $1 == sse || $1 == sse-tls || $1 == streams ]]; }
peer_mode_for() { case $1 in json | sse) echo plain ;; json-tls | sse-tls) echo tls ;; streams) echo slow ;; esac; }
model_for() { # KIND TARGET
    case $2 in
        direct) echo "$UPSTREAM_MODEL" ;;
        sluice) case $1 in json) echo bench ;; sse) echo bench-sse ;; json-tls) echo bench-tls ;;
                    sse-tls) echo bench-tls-sse ;; streams) echo bench-slow ;; esac ;;
        *) if is_stream "$1"; then echo "${PEER_MODEL_SSE[$2]}"; else echo "${PEER_MODEL_JSON[$2]}"; fi ;;
    esac
}
body_for() { # KIND TARGET
    local s=""
    is_stream "$1" && s=',"stream":true'
    printf '{"model":"%s","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"How should we put a gateway in front of our model providers?"}]%s}' \
        "$(model_for "$1" "$2")" "$s"
}
url_for() { # KIND TARGET
    case $2:$1 in
        direct:json) echo "http://$HOST:$NGINX_PORT/v1/chat/completions" ;;
        direct:sse) echo "http://$HOST:$NGINX_PORT/sse/v1/chat/completions" ;;
        direct:json-tls) echo "https://$HOST:$NGINX_TLS_PORT/v1/chat/completions" ;;
        direct:sse-tls) echo "https://$HOST:$NGINX_TLS_PORT/sse/v1/chat/completions" ;;
        direct:streams) echo "http://$HOST:$SLOW_PORT/v1/chat/completions" ;;
        sluice:*) echo "http://$HOST:$SLUICE_PORT/v1/chat/completions" ;;
        *) echo "${PEER_CHAT[$2]}" ;;
    esac
}
header_for() { # TARGET: the auth header, if any
    case $1 in sluice) echo "Authorization: Bearer $KEY" ;; direct) echo "" ;; *) echo "${PEER_AUTH[$1]}" ;; esac
}
target_pids() { # KIND TARGET
    case $2 in
        direct) if [ "$1" = streams ]; then echo "$SLOW_PID"; else echo "$NGINX_PID" $(cat /proc/"$NGINX_PID"/task/*/children 2>/dev/null); fi ;;
        sluice) echo "$SLUICE_PID" ;;
        *) group_pids "${PEER_PG[$2]}" ;;
    esac
}

SLUICE_SANITY_CALLS=0
declare -A SANE=()
sanity() { # KIND TARGET
    local kind=$1 target=$2 out=$RUN_OUT/sanity-$1-$2.txt code h
    [ -n "${SANE[$kind:$target]:-}" ] && return 0
    h=$(header_for "$target")
    code=$(curl -sS --max-time 20 --cacert "$CERTS/ca.pem" -o "$out" -w '%{http_code}' -H 'Content-Type: application/json' \
        ${h:+-H "$h"} --data-binary "$(body_for "$kind" "$target")" "$(url_for "$kind" "$target")") || code=000
    [ "$target" = sluice ] && SLUICE_SANITY_CALLS=$((SLUICE_SANITY_CALLS + 1))
    [ "$code" = 200 ] || { head -c 2000 "$out" >&2; echo >&2; die "sanity $kind via $target: HTTP $code (saved in $out)"; }
    grep -qF 'Sure.' "$out" || die "sanity $kind via $target: the answer lacks its text (saved in $out)"
    if is_stream "$kind"; then grep -qF '[DONE]' "$out" || die "sanity $kind via $target: no [DONE] (saved in $out)"; fi
    SANE[$kind:$target]=1
}

# ---------------------------------------------------------------- runs
SLUICE_REQUESTS=0 # completed through Sluice by wrk and stream-load, warm-ups included
SLUICE_INFLIGHT=0 # requests possibly in flight when a load run ended

# Samples the target's RSS every 0.5 s into FILE until killed.
start_sampler() { # FILE PIDS...
    local f=$1; shift
    (while :; do rss_kib "$@"; sleep 0.5; done) >"$f" 2>/dev/null &
    SAMPLER=$!
}
stop_sampler() { # FILE -> W_RSS_MAX (MiB)
    kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null || true
    W_RSS_MAX=$(awk 'BEGIN { m = 0 } $1 > m { m = $1 } END { printf "%.1f", m / 1024 }' "$1")
}
check_sluice() {
    kill -0 "$SLUICE_PID" 2>/dev/null && return 0
    grep -v '"msg":"call"' "$SLUICE_LOG" | tail -n 20 >&2; tail -n 20 "$TMP/sluice.stderr" >&2
    die "sluice exited during $1 (logs in $TMP)"
}

# wrk at CONNS; sets W_REQ W_RPS W_P50 W_P99 W_ERR (µs), W_CPU_US (target CPU per request), W_RSS_MAX.
run_wrk() { # NAME KIND TARGET CONNS SECONDS
    local name=$1 kind=$2 target=$3 c=$4 d=$5 out=$RUN_OUT/wrk-$1.txt line kv dur="" t0 t1 pids h
    pids=$(target_pids "$kind" "$target"); h=$(header_for "$target")
    start_sampler "$TMP/rss-$name.txt" $pids
    t0=$(proc_ticks $pids)
    BENCH_BODY=$(body_for "$kind" "$target") BENCH_HEADERS=$h timeout -k 5 $((d + WRK_TIMEOUT + 30)) \
        wrk -t"$([ "$c" -ge 2 ] && echo 2 || echo 1)" -c"$c" -d"${d}s" --timeout "${WRK_TIMEOUT}s" --latency \
        -s "$BENCH_DIR/post.lua" "$(url_for "$kind" "$target")" >"$out" 2>&1 \
        || { cat "$out" >&2; die "wrk $name failed"; }
    t1=$(proc_ticks $pids)
    stop_sampler "$TMP/rss-$name.txt"
    [ "$target" = sluice ] && check_sluice "wrk $name"
    W_REQ="" W_RPS="" W_P50="" W_P99="" W_ERR=0
    line=$(grep '^BENCH_RESULT ' "$out" | tail -n 1) || { cat "$out" >&2; die "no result line from wrk $name ($out)"; }
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
    W_CPU_US=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v r="$W_REQ" 'BEGIN { printf "%.0f", (r > 0 ? t / hz * 1e6 / r : 0) }')
    if [ "$target" = sluice ]; then SLUICE_REQUESTS=$((SLUICE_REQUESTS + W_REQ)); SLUICE_INFLIGHT=$((SLUICE_INFLIGHT + c)); fi
}

# stream-load at CONNS for STREAM_SECS after a 5 s ramp; the same W_* (latencies are time to
# first chunk), W_RSS_AFTER (MiB, BENCH_AFTER_SECS after the run: by then a gateway has closed
# the upstream connections the streams left idle; Sluice after 60 s).
run_streams() { # NAME TARGET CONNS
    local name=$1 target=$2 c=$3 out=$RUN_OUT/streams-$1.txt line kv t0 t1 pids h v
    pids=$(target_pids streams "$target"); h=$(header_for "$target")
    start_sampler "$TMP/rss-$name.txt" $pids
    t0=$(proc_ticks $pids)
    timeout -k 5 $((STREAM_SECS + 60)) "$UP_BUILD/stream-load" --url "$(url_for streams "$target")" --connections "$c" \
        --duration "$STREAM_SECS" --warmup 5 --ramp-ms 3000 --timeout 20 ${h:+--header "$h"} \
        --body "$(body_for streams "$target")" >"$out" 2>&1 || { cat "$out" >&2; die "stream-load $name failed"; }
    t1=$(proc_ticks $pids)
    stop_sampler "$TMP/rss-$name.txt"
    [ "$target" = sluice ] && check_sluice "stream-load $name"
    line=$(grep '^STREAM_RESULT ' "$out" | tail -n 1) || { cat "$out" >&2; die "no result line from stream-load $name ($out)"; }
    W_REQ="" W_RPS="" W_P50="" W_P99="" W_ERR=0 W_ALL="" W_SENT=""
    for kv in $line; do
        v=${kv#*=}
        case $kv in
            requests=*) W_REQ=$v ;; rps=*) W_RPS=$v ;; errors=*) W_ERR=$v ;;
            ttfc_p50_us=*) W_P50=$v ;; ttfc_p99_us=*) W_P99=$v ;; all_completed=*) W_ALL=$v ;; sent=*) W_SENT=$v ;;
        esac
    done
    # CPU per stream over everything the target did in the run (ramp and warm-up included).
    W_CPU_US=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v r="${W_ALL:-$W_REQ}" 'BEGIN { printf "%.0f", (r > 0 ? t / hz * 1e6 / r : 0) }')
    sleep "$AFTER_SECS"
    W_RSS_AFTER=$(mib "$(rss_kib $pids)")
    # Every request sent may be a row (one abandoned at the end still is); every one answered must be.
    if [ "$target" = sluice ]; then SLUICE_REQUESTS=$((SLUICE_REQUESTS + W_ALL)); SLUICE_INFLIGHT=$((SLUICE_INFLIGHT + W_SENT - W_ALL)); fi
}

# ---------------------------------------------------------------- points
declare -A R=() # "point|target|field" -> value
POINT_ORDER=()
measure_point() { # KIND CONNS TARGET
    local kind=$1 c=$2 target=$3 key="$1:$2|$3" pids
    [[ " ${POINT_ORDER[*]:-} " == *" $kind:$c "* ]] || POINT_ORDER+=("$kind:$c")
    case $target in tensorzero | litellm) use_peer "$target" "$(peer_mode_for "$kind")" ;; esac
    sanity "$kind" "$target"
    pids=$(target_pids "$kind" "$target")
    wait_quiet $pids $( [ "$target" != sluice ] && echo "$SLUICE_PID")
    R[$key|idle]=$(mib "$(rss_kib $pids)")
    if [ "$kind" = streams ]; then
        note "$kind:$c via $target: ${STREAM_SECS}s of stream-load after a 5s ramp"
        run_streams "$kind-$c-$target" "$target" "$c"
        R[$key|after]=$W_RSS_AFTER
    else
        if [ "$WARMUP" -gt 0 ]; then
            run_wrk "warmup-$kind-$c-$target" "$kind" "$target" "$c" "$WARMUP"
            sleep "$PAUSE"; wait_quiet $pids
        fi
        note "$kind:$c via $target: ${DURATION}s of wrk"
        run_wrk "$kind-$c-$target" "$kind" "$target" "$c" "$DURATION"
    fi
    R[$key|rps]=$W_RPS R[$key|p50]=$W_P50 R[$key|p99]=$W_P99 R[$key|err]=$W_ERR
    R[$key|cpu]=$W_CPU_US R[$key|rss]=$W_RSS_MAX R[$key|req]=$W_REQ
}

# ---------------------------------------------------------------- table
print_table() {
    local p t key d ideal
    {
        echo "rps: requests per second; ratio: rps / direct rps (streams: rps / ideal, connections / $(( (STREAM_DELAY_MS + STREAM_CHUNKS * STREAM_CHUNK_MS) )) ms);"
        echo "p50/p99: latency of the whole answer (streams: time to first chunk), µs; added: minus direct's, same point."
        echo "cpu: the target's CPU µs per request (streams: per stream, ramp included); rss: peak MiB during the run (streams: idle before / peak / ${AFTER_SECS} s after)."
        printf '%-13s %-11s %10s %7s %10s %10s %9s %9s %7s %8s %20s\n' point target rps ratio "p50 us" "p99 us" "added50" "added99" errors "cpu us" "rss MiB"
        for p in "${POINT_ORDER[@]}"; do
            d="$p|direct"
            ideal=$(awk -v c="${p#*:}" -v ms=$((STREAM_DELAY_MS + STREAM_CHUNKS * STREAM_CHUNK_MS)) 'BEGIN { print c * 1000 / ms }')
            for t in $TARGETS; do
                key="$p|$t"
                [ -n "${R[$key|rps]:-}" ] || continue
                awk -v p="$p" -v t="$t" -v rps="${R[$key|rps]}" -v drps="${R[$d|rps]}" -v p50="${R[$key|p50]}" -v p99="${R[$key|p99]}" \
                    -v d50="${R[$d|p50]}" -v d99="${R[$d|p99]}" -v err="${R[$key|err]}" -v cpu="${R[$key|cpu]}" \
                    -v rss="${R[$key|rss]}" -v idle="${R[$key|idle]}" -v after="${R[$key|after]:-}" -v ideal="$ideal" -v dir="$([ "$t" = direct ] && echo 1 || echo 0)" 'BEGIN {
                    streams = (p ~ /^streams/)
                    ratio = streams ? rps / ideal : (drps > 0 ? rps / drps : 0)
                    a50 = dir ? "-" : sprintf("%d", p50 - d50); a99 = dir ? "-" : sprintf("%d", p99 - d99)
                    r = streams ? sprintf("%s/%s/%s", idle, rss, after) : rss
                    printf "%-13s %-11s %10.1f %7.3f %10d %10d %9s %9s %7d %8s %20s\n", p, t, rps, ratio, p50, p99, a50, a99, err, cpu, r }'
            done
            if [ -n "${R[$p|sluice|rps]:-}" ]; then
                for t in tensorzero litellm; do
                    [ -n "${R[$p|$t|rps]:-}" ] || continue
                    awk -v p="$p" -v t="$t" -v s="${R[$p|sluice|rps]}" -v o="${R[$p|$t|rps]}" 'BEGIN {
                        printf "%-13s   sluice / %s: %.2fx rps\n", "", t, (o > 0 ? s / o : 0) }'
                done
            fi
        done
    } | tee -a "$RESULTS"
    say ""
}

# ---------------------------------------------------------------- call log check
check_call_log() {
    local rows expected diff
    note "stopping sluice (SIGTERM) so that its call log drains"
    stop_pid "$SLUICE_PID" TERM 60 sluice || note "sluice had to be killed"
    SLUICE_PID=""
    expected=$((SLUICE_REQUESTS + SLUICE_SANITY_CALLS))
    rows=$(sqlite3 "$TMP/sluice.db" 'SELECT count(*) FROM calls;' 2>/dev/null) || rows="?"
    say "Call log: $rows rows for $expected requests completed through Sluice (load runs $SLUICE_REQUESTS, sanity $SLUICE_SANITY_CALLS);"
    if [ "$rows" != "?" ]; then
        diff=$((rows - expected))
        say "  difference $diff (0..$SLUICE_INFLIGHT expected: a load run may end with one request in flight per connection)"
        { [ "$diff" -ge 0 ] && [ "$diff" -le "$SLUICE_INFLIGHT" ]; } || say "  WARNING: the call log does not match the requests Sluice answered"
        sqlite3 -separator ' | ' "$TMP/sluice.db" \
            "SELECT model, stream, status, http_status, count(*) FROM calls GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4;" 2>&1 | sed 's/^/    /' | tee -a "$RESULTS"
    fi
    say ""
}
