# Helpers for bench/run.sh: processes, CPU and memory accounting, TLS certificates, the peer
# gateways. Sourced, not run; expects HOST, TMP, RUN_OUT, READY_TIMEOUT and die/note defined.

# ---------------------------------------------------------------- processes
# Sends SIG to PID, waits up to WAIT seconds, then SIGKILLs. Returns 0 if it exited on its
# own after SIG, 1 if it had to be killed.
stop_pid() { # PID SIG WAIT NAME
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
# Stops a process group started with setsid (its leader's pid is the group id).
stop_group() { # PGID WAIT NAME
    local pg=$1 i
    [ -n "$pg" ] || return 0
    kill -TERM -- "-$pg" 2>/dev/null || true
    for ((i = 0; i < $2 * 10; i++)); do
        [ -z "$(group_pids "$pg")" ] && { wait "$pg" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    note "$3 did not exit within $2s of SIGTERM; killing it"
    kill -KILL -- "-$pg" 2>/dev/null || true
    wait "$pg" 2>/dev/null || true
}
group_pids() { ps -o pid= -g "$1" 2>/dev/null | tr -d ' ' | tr '\n' ' '; }

wait_http() { # URL PID
    local url=$1 pid=$2 i
    for ((i = 0; i < READY_TIMEOUT * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        curl -fsS --max-time 1 -o /dev/null "$url" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# ---------------------------------------------------------------- accounting
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
# Summed resident set size of the given processes, KiB.
rss_kib() {
    local total=0 pid v
    for pid in "$@"; do
        v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || v=0
        total=$((total + ${v:-0}))
    done
    echo "$total"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# "BUSY TOTAL" ticks over all CPUs, from /proc/stat.
sys_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat; }

# Waits (at most 10 s) until the given processes are idle: under 5% of a core over 0.2 s,
# so that a run does not pay for the previous run's call-log writes.
wait_quiet() {
    local i a b
    [ $# -gt 0 ] || return 0
    for ((i = 0; i < 50; i++)); do
        a=$(proc_ticks "$@"); sleep 0.2; b=$(proc_ticks "$@")
        [ $((b - a)) -le $((CLK_TCK / 100)) ] && return 0
    done
    note "still busy after 10s (pids $*); measuring anyway"
}

# ---------------------------------------------------------------- TLS
# A CA and a server certificate for 127.0.0.1 / localhost, in DIR: ca.pem, server.pem, server.key.
make_certs() { # DIR
    local d=$1
    mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=Sluice bench CA" -keyout "$d/ca.key" -out "$d/ca.pem" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        >/dev/null 2>&1 || die "openssl could not make the bench CA"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$d/server.key" -out "$d/server.csr" >/dev/null 2>&1 || die "openssl could not make a server key"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/ext.cnf"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
        -extfile "$d/ext.cnf" -out "$d/server.pem" >/dev/null 2>&1 || die "openssl could not sign the server certificate"
}

# ---------------------------------------------------------------- peers
# Each peer lives in a virtual environment of its own (../shared/peers/README.md), made on
# first use. PEER_MODE[name] is the upstream it currently forwards to (plain, tls or slow).
declare -A PEER_PG=() PEER_MODE=() PEER_CHAT=() PEER_AUTH=() PEER_MODEL_JSON=() PEER_MODEL_SSE=()
TZ_PIN='tensorzero==2026.6.0'
LITELLM_PIN='litellm[proxy]==1.106.2'

ensure_venv() { # DIR PIN MODULE
    local dir=$1 pin=$2 module=$3
    [ -x "$dir/bin/python" ] && "$dir/bin/python" -c "import $module" 2>/dev/null && return 0
    note "installing $pin into $dir (from PyPI)"
    python3 -m venv "$dir" || die "python3 -m venv $dir failed (apt install python3-venv)"
    timeout 900 "$dir/bin/pip" install -q "$pin" >"$TMP/pip-$module.log" 2>&1 \
        || { tail -n 20 "$TMP/pip-$module.log" >&2; die "pip install $pin failed"; }
}

# The upstream base URLs for a mode: "WHOLE STREAM".
peer_upstreams() { # MODE
    case $1 in
        plain) echo "http://$HOST:$NGINX_PORT/v1 http://$HOST:$NGINX_PORT/sse/v1" ;;
        tls) echo "https://$HOST:$NGINX_TLS_PORT/v1 https://$HOST:$NGINX_TLS_PORT/sse/v1" ;;
        slow) echo "http://$HOST:$SLOW_PORT/v1 http://$HOST:$SLOW_PORT/v1" ;;
    esac
}

# Starts (or restarts, when its mode differs) peer NAME forwarding to MODE's upstream, and
# waits until it answers a chat call.
use_peer() { # NAME MODE
    local name=$1 mode=$2 up ups log i code
    [ "${PEER_MODE[$name]:-}" = "$mode" ] && return 0
    [ -n "${PEER_PG[$name]:-}" ] && stop_group "${PEER_PG[$name]}" 20 "$name"
    read -r up ups <<<"$(peer_upstreams "$mode")"
    log=$TMP/peer-$name-$mode.log
    note "starting $name forwarding to the $mode upstream"
    case $name in
        tensorzero)
            rm -f "$TMP/tz.url"
            PEER_UPSTREAM=$up PEER_UPSTREAM_STREAM=$ups PEER_URL_FILE=$TMP/tz.url SSL_CERT_FILE=$CERTS/ca.pem \
                setsid "$TZ_VENV/bin/python" "$PEERS_DIR/tensorzero/start.py" >"$log" 2>&1 &
            PEER_PG[$name]=$!
            for ((i = 0; i < READY_TIMEOUT * 10; i++)); do
                [ -s "$TMP/tz.url" ] && break
                kill -0 "${PEER_PG[$name]}" 2>/dev/null || { tail -n 20 "$log" >&2; die "tensorzero exited at start"; }
                sleep 0.1
            done
            [ -s "$TMP/tz.url" ] || die "tensorzero wrote no URL within ${READY_TIMEOUT}s ($log)"
            PEER_CHAT[$name]="$(head -n 1 "$TMP/tz.url")/chat/completions"
            PEER_AUTH[$name]=""
            PEER_MODEL_JSON[$name]=tensorzero::model_name::bench
            PEER_MODEL_SSE[$name]=tensorzero::model_name::bench-sse ;;
        litellm)
            PEER_UPSTREAM=$up PEER_UPSTREAM_STREAM=$ups PEER_PORT=$LITELLM_PORT LITELLM_VENV=$LITELLM_VENV \
                SSL_CERT_FILE=$CERTS/ca.pem setsid bash "$PEERS_DIR/litellm/start.sh" >"$log" 2>&1 &
            PEER_PG[$name]=$!
            PEER_CHAT[$name]="http://$HOST:$LITELLM_PORT/v1/chat/completions"
            PEER_AUTH[$name]="Authorization: Bearer sk-bench-0123456789abcdef"
            PEER_MODEL_JSON[$name]=bench
            PEER_MODEL_SSE[$name]=bench-sse ;;
    esac
    PEER_MODE[$name]=$mode
    for ((i = 0; i < READY_TIMEOUT * 4; i++)); do
        code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
            ${PEER_AUTH[$name]:+-H "${PEER_AUTH[$name]}"} \
            --data-binary "{\"model\":\"${PEER_MODEL_JSON[$name]}\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" \
            "${PEER_CHAT[$name]}" 2>/dev/null) || code=000
        [ "$code" = 200 ] && return 0
        [ -n "$(group_pids "${PEER_PG[$name]}")" ] || { tail -n 20 "$log" >&2; die "$name exited at start ($log)"; }
        sleep 0.25
    done
    tail -n 20 "$log" >&2
    die "$name did not answer a chat call within $((READY_TIMEOUT))s (last HTTP $code; $log)"
}
stop_peers() {
    local n
    for n in "${!PEER_PG[@]}"; do stop_group "${PEER_PG[$n]}" 20 "$n"; done
    PEER_PG=() PEER_MODE=()
}
peer_version() { # NAME
    case $1 in
        tensorzero) "$TZ_VENV/bin/pip" show tensorzero 2>/dev/null | awk '/^Version:/ { print "tensorzero " $2 }' ;;
        litellm) "$LITELLM_VENV/bin/pip" show litellm 2>/dev/null | awk '/^Version:/ { print "litellm " $2 }' ;;
    esac
}
