#!/usr/bin/env bash
# Install the Debian packages Lifeboat needs, and only those not yet installed.
#
#   scripts/install-deps.sh build   # compile: zstd, OpenSSL, curl headers, pkg-config
#   scripts/install-deps.sh demo    # build + python3 (scripts/demo.sh reads JSON with it)
#   scripts/install-deps.sh test    # build + restic (interop oracle), attr, tar, zstd, python3,
#                                   # etcd-server/etcd-client, openssl, kubectl, moto[server] (PyPI)
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
test_pkgs=("${build_pkgs[@]}" restic attr tar zstd python3 python3-pip python3-yaml etcd-server etcd-client openssl)
bench_pkgs=("${test_pkgs[@]}" borgbackup time hyperfine)

case $1 in
    build) wanted=("${build_pkgs[@]}") ;;
    demo)  wanted=("${demo_pkgs[@]}") ;;
    test)  wanted=("${test_pkgs[@]}")
           # Any kubectl will do (the Kubernetes tests check the API-server double with it);
           # Debian's is kubernetes-client.
           command -v kubectl >/dev/null 2>&1 || wanted+=(kubernetes-client) ;;
    bench) wanted=("${bench_pkgs[@]}")
           command -v kubectl >/dev/null 2>&1 || wanted+=(kubernetes-client) ;;
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

# The S3 tests run against moto_server (PyPI moto[server]) on loopback.
install_moto() {
    [[ $1 == test || $1 == bench ]] || return 0
    command -v moto_server >/dev/null 2>&1 && return 0
    echo "install-deps ($1): installing moto[server] from PyPI"
    python3 -m pip install --quiet 'moto[server]>=5,<6' 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages 'moto[server]>=5,<6'
    command -v moto_server >/dev/null 2>&1 || { echo "install-deps: moto_server not on PATH after pip install" >&2; exit 1; }
}

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps ($1): all ${#wanted[@]} packages already installed"
    install_moto "$1"
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
install_moto "$1"
