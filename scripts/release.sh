#!/usr/bin/env bash
# Builds Sluice's release binary for Linux: the Swift runtime linked in
# (--static-swift-stdlib), stripped, checked, with its size and SHA-256.
#
#   scripts/release.sh                   # into .build-static/dist/sluice-VERSION-linux-ARCH/
#   scripts/release.sh --out DIR         # into DIR instead
#
# The binary needs the Swift toolchain only to build; to run, a Debian bookworm host (or
# image) needs the packages in deploy/runtime-packages and nothing else (docs/deploy.md).
# Writes: sluice (stripped), sluice.debug (its debug information, for symbolising a crash
# report; not needed to run), sluice.sha256, BUILD-INFO (version, commit, toolchain, size).
#
# Environment: SLUICE_RELEASE_SCRATCH (SwiftPM scratch path, default .build-static, apart
# from bench/run.sh's dynamically linked build in .build-release: one scratch directory
# switched between the two recompiles everything),
# SLUICE_RELEASE_JOBS (parallel compile jobs, default: every core), SLUICE_COMMIT (the
# commit for BUILD-INFO when there is no .git, as in the Dockerfile).
set -euo pipefail
cd "$(dirname "$0")/.."

out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        --out=*) out="${1#--out=}"; shift ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "release.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

die() { echo "release.sh: $*" >&2; exit 1; }
[ "$(uname -s)" = Linux ] || die "builds the Linux binary; run it on Linux (or in the Dockerfile's build stage)"
for tool in swift objcopy strip readelf sha256sum; do
    command -v "$tool" >/dev/null || die "needs '$tool' (binutils, coreutils and the Swift toolchain)"
done

version=$(sed -n 's/^ *public static let current = "\([^"]*\)".*/\1/p' Sources/SluiceCore/Version.swift)
[ -n "$version" ] || die "no version in Sources/SluiceCore/Version.swift"
arch=$(uname -m)
scratch=${SLUICE_RELEASE_SCRATCH:-.build-static}
jobs=${SLUICE_RELEASE_JOBS:-$(nproc)}
out=${out:-$scratch/dist/sluice-$version-linux-$arch}

build_args=(-c release --product sluice --static-swift-stdlib --scratch-path "$scratch" -j "$jobs")

echo "release.sh: building sluice $version for linux-$arch (scratch $scratch, $jobs jobs)"
started=$(date +%s)
swift build "${build_args[@]}"
built=$(swift build "${build_args[@]}" --show-bin-path)/sluice
echo "release.sh: built in $(( $(date +%s) - started )) s"

mkdir -p "$out"
bin="$out/sluice"
rm -f "$bin" "$out/sluice.debug"
cp "$built" "$bin"
unstripped=$(stat -c %s "$bin")
objcopy --only-keep-debug "$bin" "$out/sluice.debug"
strip --strip-all "$bin"
(cd "$out" && objcopy --add-gnu-debuglink=sluice.debug sluice)

# Checks: the version, no Swift runtime library, only the listed packages' libraries.
reported=$("$bin" --version)
[ "$reported" = "$version" ] || die "sluice --version says '$reported', Sources/SluiceCore/Version.swift says '$version'"
needed=$(readelf -d -W "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
if grep -q swift <<<"$needed"; then die "the binary still links a Swift runtime library: $(tr '\n' ' ' <<<"$needed")"; fi
if command -v dpkg-query >/dev/null && command -v ldd >/dev/null; then
    wanted=$(grep -vE '^\s*(#|$)' deploy/runtime-packages)
    missing=$(ldd "$bin" | grep 'not found' || true)
    [ -z "$missing" ] || die "libraries not found on this host: $missing"
    while read -r lib path; do
        owner=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "${path#/usr}" 2>/dev/null || true)
        owner=${owner%%:*}
        [ -n "$owner" ] || die "cannot tell which Debian package holds $path ($lib)"
        grep -qxF "$owner" <<<"$wanted" || die "the binary needs $lib from the package $owner, which deploy/runtime-packages does not list"
    done < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3} $1 ~ /^\// {print $1, $1}')
fi

size=$(stat -c %s "$bin")
sha=$(cd "$out" && sha256sum sluice | tee sluice.sha256 | cut -d' ' -f1)
commit=${SLUICE_COMMIT:-}
if [ -z "$commit" ]; then
    commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
    if [ "$commit" != unknown ] && ! git diff --quiet HEAD -- Sources Package.swift 2>/dev/null; then commit="$commit-dirty"; fi
fi
cat >"$out/BUILD-INFO" <<EOF
version: $version
commit: $commit
built: $(date -u +%Y-%m-%dT%H:%M:%SZ)
toolchain: $(swift --version 2>/dev/null | head -1)
target: linux-$arch, --static-swift-stdlib, stripped
size_bytes: $size
sha256: $sha
needs: $(tr '\n' ' ' <<<"$needed")
debian_packages: $(grep -vE '^\s*(#|$)' deploy/runtime-packages | tr '\n' ' ')
EOF

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "release.sh: sluice $version ($commit), linux-$arch"
echo "release.sh: binary     $bin"
echo "release.sh: size       $size bytes ($(mib "$size")) stripped; $(mib "$unstripped") before strip"
echo "release.sh: sha256     $sha"
echo "release.sh: libraries  $(tr '\n' ' ' <<<"$needed")"
echo "release.sh: debug info $out/sluice.debug ($(mib "$(stat -c %s "$out/sluice.debug")"))"
