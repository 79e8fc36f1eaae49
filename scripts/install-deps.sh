#!/usr/bin/env bash
# Install the Debian packages Lifeboat needs, and only those not yet installed.
#
#   scripts/install-deps.sh build   # compile: zstd, OpenSSL, curl headers, pkg-config
#   scripts/install-deps.sh demo    # build + python3 (scripts/demo.sh reads JSON with it)
#   scripts/install-deps.sh test    # build + restic (interop oracle), attr, tar, zstd, python3
#   scripts/install-deps.sh bench   # test + borgbackup, GNU time, hyperfine
#
# Idempotent: when everything is present it changes nothing and touches no
# network. Otherwise it runs `apt-get update` once, then installs the missing
# packages non-interactively. Runs as root, or through sudo otherwise.
set -euo pipefail

usage() { echo "usage: $0 build|demo|test|bench" >&2; exit 2; }
[[ $# -eq 1 ]] || usage

build_pkgs=(libzstd-dev libssl-dev libcurl4-openssl-dev pkg-config)
demo_pkgs=("${build_pkgs[@]}" python3)
test_pkgs=("${build_pkgs[@]}" restic attr tar zstd python3)
bench_pkgs=("${test_pkgs[@]}" borgbackup time hyperfine)

case $1 in
    build) wanted=("${build_pkgs[@]}") ;;
    demo)  wanted=("${demo_pkgs[@]}") ;;
    test)  wanted=("${test_pkgs[@]}") ;;
    bench) wanted=("${bench_pkgs[@]}") ;;
    *) usage ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-deps: dpkg-query not found; this script supports Debian/Ubuntu only." >&2
    echo "install-deps: install these yourself: ${wanted[*]}" >&2
    exit 1
fi

is_installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

missing=()
for p in "${wanted[@]}"; do
    is_installed "$p" || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps ($1): all ${#wanted[@]} packages already installed"
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "install-deps: not root and no sudo; please install: ${missing[*]}" >&2
    exit 1
fi

echo "install-deps ($1): installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null

# Confirm: a package name apt resolved differently would otherwise go unnoticed.
still=()
for p in "${missing[@]}"; do
    is_installed "$p" || still+=("$p")
done
if [[ ${#still[@]} -gt 0 ]]; then
    echo "install-deps: still missing after install: ${still[*]}" >&2
    exit 1
fi
echo "install-deps ($1): done"
