#!/usr/bin/env bash
# The release acceptance test: builds the release binary with scripts/release.sh and runs
# it in a minimal Debian bookworm root (debootstrap --variant=minbase) that holds exactly
# the packages in deploy/runtime-packages and no Swift, as the container image does: the
# image's config (deploy/sluice.yaml) at /etc/sluice, data in /var/lib/sluice, a non-root
# `sluice` user, Sluice as PID 1 of its own PID namespace, secrets from the environment.
# Checks a chat call (whole and streamed) from the simulated provider, /readyz, /healthz,
# /metrics, `sluice healthcheck` (the image's HEALTHCHECK), systemd's READY=1, then SIGTERM:
# exit 0 with the call record on disk. Fails if the binary links a library of a package
# that deploy/runtime-packages (and so docs/deploy.md and the Dockerfile) does not list.
#
#   sudo scripts/test-release.sh
#
# Needs root (debootstrap, chroot, namespaces), debootstrap, curl, python3 and a Debian
# mirror. Environment: SLUICE_RELEASE_BIN (test this binary, skip the build),
# SLUICE_RELEASE_ROOT (the Debian root, default /tmp/sluice-release-root; reused while its
# package list is unchanged), SLUICE_DEBIAN_MIRROR (default http://deb.debian.org/debian),
# and release.sh's SLUICE_RELEASE_SCRATCH / SLUICE_RELEASE_JOBS.
# Prints `N passed, M failed` last; exits 1 on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

passed=0
failed=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; }
abort() { fail "$*"; finish; exit 1; }

[ "$(id -u)" = 0 ] || abort "needs root (debootstrap, chroot and namespaces)"
for tool in debootstrap chroot unshare curl python3; do
    command -v "$tool" >/dev/null || abort "needs '$tool' (apt-get install debootstrap curl python3)"
done

version=$(sed -n 's/^ *public static let current = "\([^"]*\)".*/\1/p' Sources/SluiceCore/Version.swift)
packages=$(grep -vE '^\s*(#|$)' deploy/runtime-packages)
root=${SLUICE_RELEASE_ROOT:-/tmp/sluice-release-root}
mirror=${SLUICE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d /tmp/sluice-release-test.XXXXXX)
admin_key="release-admin-$RANDOM$RANDOM"
app_key="release-app-$RANDOM$RANDOM"
serve_pid=""
notify_pid=""
cleanup() {
    [ -n "$serve_pid" ] && kill -KILL "$serve_pid" 2>/dev/null
    [ -n "$notify_pid" ] && kill "$notify_pid" 2>/dev/null
    rm -f "$root/run/sluice-notify.sock"
}
trap cleanup EXIT

# --- the documented package list is the one list ----------------------------------------
install_line="apt-get install --no-install-recommends $(tr '\n' ' ' <<<"$packages" | sed 's/ $//')"
check "docs/deploy.md lists the runtime packages ($install_line)" grep -qF "$install_line" docs/deploy.md
check "the Dockerfile installs deploy/runtime-packages" grep -q 'deploy/runtime-packages' Dockerfile

# --- the release build ------------------------------------------------------------------
if [ -n "${SLUICE_RELEASE_BIN:-}" ]; then
    bin=$SLUICE_RELEASE_BIN
    echo "testing $bin (SLUICE_RELEASE_BIN; not rebuilt)"
else
    out="$work/dist"
    started=$(date +%s)
    status=0
    scripts/release.sh --out "$out" >"$work/release.log" 2>&1 || status=$?
    grep -E '^release.sh:|error:' "$work/release.log"
    echo "release build: $(($(date +%s) - started)) s"
    [ "$status" -eq 0 ] || abort "scripts/release.sh failed (exit $status); log: $work/release.log"
    pass "scripts/release.sh builds the release binary"
    grep -qE '^release.sh: size +[0-9]+ bytes' "$work/release.log" && pass "release.sh prints the stripped size" || fail "release.sh prints the stripped size"
    bin="$out/sluice"
    check "sluice.sha256 matches the binary" bash -c "cd '$out' && sha256sum --check --status sluice.sha256"
fi
[ -x "$bin" ] || abort "no binary at $bin"
size=$(stat -c %s "$bin")
recorded=$(sed -n 's/.*\*\*Size: the stripped binary is \([0-9.]*\) MiB\*\*.*/\1/p' docs/deploy.md)
echo "stripped binary: $size bytes ($(awk -v b="$size" 'BEGIN { printf "%.1f", b / 1048576 }') MiB); docs/deploy.md records ${recorded:-nothing} MiB"
check "docs/deploy.md records the stripped size within 15 % (update its **Size:** line when it moves)" \
    awk -v b="$size" -v r="${recorded:-0}" 'BEGIN { m = b / 1048576; exit !(r > 0 && m > r * 0.85 && m < r * 1.15) }'

# --- the minimal Debian root ------------------------------------------------------------
stamp="$root/.sluice-release-root"
want_stamp="bookworm minbase $(tr '\n' ' ' <<<"$packages")"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_stamp" ]; then
    echo "reusing the Debian root in $root ($want_stamp)"
else
    grep -qs " $root/" /proc/mounts && abort "something is mounted under $root; not removing it"
    rm -rf "$root"
    started=$(date +%s)
    echo "debootstrap --variant=minbase --include=$(tr '\n' ',' <<<"$packages" | sed 's/,$//') bookworm $root $mirror"
    if ! debootstrap --variant=minbase --include="$(tr '\n' ',' <<<"$packages" | sed 's/,$//')" \
        bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
        tail -20 "$work/debootstrap.log"
        abort "debootstrap failed; log: $work/debootstrap.log"
    fi
    echo "debootstrap: $(($(date +%s) - started)) s"
    # As the Dockerfile does: a system user without a home or a shell.
    chroot "$root" useradd --system --no-create-home --home-dir /var/lib/sluice --shell /usr/sbin/nologin sluice \
        || abort "useradd in the root failed"
    echo "$want_stamp" >"$stamp"
fi
check "no Swift in the Debian root" bash -c "[ -z \"\$(find '$root/usr' '$root/opt' -name 'libswift*' -o -name 'swift' -o -name 'libFoundation*' 2>/dev/null | head -1)\" ]"

uid=$(chroot "$root" id -u sluice) || abort "no sluice user in the root"
gid=$(chroot "$root" id -g sluice)
install -m 0755 "$bin" "$root/usr/local/bin/sluice"
install -d -m 0755 "$root/etc/sluice"
install -m 0644 deploy/sluice.yaml "$root/etc/sluice/sluice.yaml"
rm -rf "$root/var/lib/sluice"
install -d -m 0750 -o "$uid" -g "$gid" "$root/var/lib/sluice"
mkdir -p "$root/run"

# --- what the binary links --------------------------------------------------------------
ldd_out=$(chroot "$root" ldd /usr/local/bin/sluice 2>&1)
echo "$ldd_out" | sed 's/^/  ldd: /'
check "every library the binary links is found in the root" bash -c "! grep -q 'not found' <<<'$ldd_out'"
unlisted=""
while read -r lib path; do
    owner=$(chroot "$root" dpkg -S "$path" 2>/dev/null || chroot "$root" dpkg -S "${path#/usr}" 2>/dev/null \
        || chroot "$root" dpkg -S "/usr$path" 2>/dev/null || echo "unknown:")
    owner=${owner%%:*}
    echo "  $lib <- $owner"
    grep -qxF "$owner" <<<"$packages" || unlisted+=" $lib($owner)"
done < <(awk '$2 == "=>" && $3 ~ /^\// {print $1, $3} $1 ~ /^\// {print $1, $1}' <<<"$ldd_out")
if [ -z "$unlisted" ]; then pass "every linked library comes from a package in deploy/runtime-packages"
else fail "libraries from packages that deploy/runtime-packages does not list:$unlisted"; fi

# Runs a command in the root as the sluice user with the image's environment only.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
env_args=(env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/var/lib/sluice
    SLUICE_HOST=127.0.0.1 SLUICE_PORT="$port" SLUICE_ADMIN_KEY="$admin_key" SLUICE_APP_KEY="$app_key")
in_root() { unshare --mount --pid --fork --mount-proc="$root/proc" chroot --userspec="$uid:$gid" "$root" "${env_args[@]}" "$@"; }

reported=$(in_root sluice --version 2>&1)
check "sluice --version in the root says $version (got '$reported')" [ "$reported" = "$version" ]

# --- serve ------------------------------------------------------------------------------
# systemd's notification socket, as a Type=notify unit would have it.
python3 - "$root/run/sluice-notify.sock" "$work/notify.log" <<'EOF' &
import os, socket, sys
path, log = sys.argv[1], sys.argv[2]
if os.path.exists(path): os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(log, "a") as f:
    while True:
        f.write(s.recv(4096).decode() + "\n")
        f.flush()
EOF
notify_pid=$!
for _ in $(seq 50); do [ -S "$root/run/sluice-notify.sock" ] && break; sleep 0.1; done

env_args+=(NOTIFY_SOCKET=/run/sluice-notify.sock)
# Not through in_root: $! must be unshare itself, whose child is sluice (PID 1 inside).
unshare --mount --pid --fork --mount-proc="$root/proc" chroot --userspec="$uid:$gid" "$root" "${env_args[@]}" \
    sluice serve --config /etc/sluice/sluice.yaml >"$work/stdout.log" 2>"$work/stderr.log" &
unshare_pid=$!
env_args=("${env_args[@]:0:${#env_args[@]}-1}")
base="http://127.0.0.1:$port"
ready=""
for _ in $(seq 300); do
    if curl -fsS -o /dev/null "$base/readyz" 2>/dev/null; then ready=1; break; fi
    kill -0 "$unshare_pid" 2>/dev/null || break
    sleep 0.1
done
# The pid namespace's init (sluice) is unshare's child.
serve_pid=$(cat /proc/"$unshare_pid"/task/*/children 2>/dev/null | awk '{print $1}')
if [ -z "$ready" ]; then
    sed 's/^/  stderr: /' "$work/stderr.log" | tail -30
    abort "sluice serve did not answer GET /readyz on port $port within 30 s"
fi
pass "sluice serve starts in the root as user sluice (uid $uid), PID 1 of its namespace"

ready_json=$(curl -sS "$base/readyz")
check "GET /readyz: 200 ready ($ready_json)" grep -q '"status":"ready"' <<<"$ready_json"

chat='{"model":"sim-small","messages":[{"role":"user","content":"echo: hello from the release test"}]}'
answer=$(curl -sS -D "$work/chat.headers" "$base/v1/chat/completions" -H "authorization: Bearer $app_key" \
    -H 'content-type: application/json' -H 'x-sluice-purpose: release-test' -d "$chat")
check "a chat call is answered by the simulated provider" grep -q '"content":"hello from the release test"' <<<"$answer"
call_id=$(awk -F': ' 'tolower($1) == "x-sluice-call-id" {print $2}' "$work/chat.headers" | tr -d '\r')
check "the answer carries X-Sluice-Call-Id ($call_id)" [ -n "$call_id" ]
stream=$(curl -sS -N "$base/v1/chat/completions" -H "authorization: Bearer $app_key" -H 'content-type: application/json' \
    -d '{"model":"sim-large","stream":true,"messages":[{"role":"user","content":"echo: streamed"}]}')
check "a streamed chat call ends with [DONE]" grep -q 'data: \[DONE\]' <<<"$stream"
unauth=$(curl -sS -o /dev/null -w '%{http_code}' "$base/v1/chat/completions" -H 'content-type: application/json' -d "$chat")
check "a call without the key from the environment is refused (got $unauth)" [ "$unauth" = 401 ]

health=$(curl -sS "$base/healthz")
check "GET /healthz says version $version ($health)" grep -qF "\"version\":\"$version\"" <<<"$health"
metrics=$(curl -sS "$base/metrics")
check "/metrics has sluice_build_info{version=\"$version\"} 1" grep -qxE "sluice_build_info\{version=\"${version//./\\.}\"\} 1(\.0)?" <<<"$metrics"
check "the start-up line 'sluice ready' says version $version" grep -qF "\"version\":\"$version\"" <<<"$(grep '"msg":"sluice ready"' "$work/stderr.log")"
check "NIO's event loops run Swift concurrency (the executor hook is installed)" bash -c "! grep -q swift_task_enqueueGlobal_hook '$work/stderr.log'"
check "systemd got READY=1" grep -q '^READY=1' "$work/notify.log"
check "sluice healthcheck (the image's HEALTHCHECK) exits 0" in_root sluice healthcheck --config /etc/sluice/sluice.yaml

listed=""
for _ in $(seq 50); do
    listed=$(curl -sS "$base/admin/calls/$call_id" -H "authorization: Bearer $admin_key")
    grep -qF "\"call_id\":\"$call_id\"" <<<"$listed" && break
    sleep 0.1
done
check "GET /admin/calls/{id} with the admin key finds the call" grep -qF "\"call_id\":\"$call_id\"" <<<"$listed"

# --- SIGTERM ----------------------------------------------------------------------------
kill -TERM "$serve_pid" 2>/dev/null
status=""
for _ in $(seq 300); do
    if ! kill -0 "$unshare_pid" 2>/dev/null; then wait "$unshare_pid"; status=$?; break; fi
    sleep 0.1
done
serve_pid=""
check "SIGTERM: sluice exits 0 (got ${status:-still running after 30 s})" [ "$status" = 0 ]
check "SIGTERM: 'sluice stopped' is logged" grep -q '"msg":"sluice stopped"' "$work/stderr.log"
check "SIGTERM: systemd got STOPPING=1" grep -q '^STOPPING=1' "$work/notify.log"
check "the request log on stdout has the call" grep -qF "$call_id" "$work/stdout.log"
check "the data volume holds the SQLite file, owned by sluice" \
    bash -c "[ \"\$(stat -c %u '$root/var/lib/sluice/sluice.db')\" = '$uid' ]"
calls=$(in_root sluice calls --config /etc/sluice/sluice.yaml --limit 5 2>&1)
check "after the stop, sluice calls reads the call back from the SQLite file" grep -qF "$call_id" <<<"$calls"
down_status=0
in_root sluice healthcheck --config /etc/sluice/sluice.yaml --timeout 2 >/dev/null 2>&1 || down_status=$?
check "sluice healthcheck exits 1 when nothing answers (got $down_status)" [ "$down_status" = 1 ]

if [ "$failed" -gt 0 ]; then
    echo "logs in $work:"
    sed 's/^/  stderr: /' "$work/stderr.log" | tail -40
fi
finish
