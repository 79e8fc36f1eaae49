#!/usr/bin/env bash
# Run the shared peer benchmark (../shared/bench/run-peers.sh) with lifeboat
# alongside restic and borg.
#
#   BENCH_DIR=/scratch/bench scripts/bench-lifeboat.sh
#   BENCH_DIR=/scratch/bench TOOLS="restic lifeboat" DATASETS=d2 REPEAT=5 scripts/bench-lifeboat.sh
#
# Environment (everything else is passed through to run-peers.sh unchanged):
#   BENCH_DIR     scratch root (required; needs ~12 GiB; must be outside this repository)
#   LIFEBOAT_BIN  lifeboat binary (default: <repo>/.build/release/lifeboat)
#   TOOLS         tools to compare (default: "restic borg lifeboat")
#   SHARED_DIR    the shared folder (default: <repo>/../shared)
#   MAKE_DATA     1 (default) = run make-data.sh first for the chosen datasets
#                 (idempotent: up-to-date datasets are skipped); 0 = don't
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED_DIR=${SHARED_DIR:-$ROOT/../shared}
BENCH=$SHARED_DIR/bench

: "${BENCH_DIR:?set BENCH_DIR to a scratch directory outside the repository (~12 GiB free)}"
BENCH_DIR=$(realpath -m -- "$BENCH_DIR")
root_real=$(realpath -- "$ROOT")
if [[ $BENCH_DIR == "$root_real" || $BENCH_DIR == "$root_real"/* ]]; then
    echo "bench-lifeboat: BENCH_DIR ($BENCH_DIR) is inside the repository; choose a directory outside it" >&2
    exit 2
fi
case $BENCH_DIR in
    *' '*) echo "bench-lifeboat: BENCH_DIR must not contain spaces" >&2; exit 2 ;;
esac
mkdir -p "$BENCH_DIR"
export BENCH_DIR

[[ -f $BENCH/run-peers.sh ]] ||
    { echo "bench-lifeboat: $BENCH/run-peers.sh not found (set SHARED_DIR)" >&2; exit 2; }

LIFEBOAT_BIN=${LIFEBOAT_BIN:-$ROOT/.build/release/lifeboat}
[[ -x $LIFEBOAT_BIN ]] ||
    { echo "bench-lifeboat: $LIFEBOAT_BIN not found; run 'make release' first" >&2; exit 2; }
case $LIFEBOAT_BIN in
    *' '*) echo "bench-lifeboat: LIFEBOAT_BIN must not contain spaces" >&2; exit 2 ;;
esac
export LIFEBOAT_BIN
export TOOLS=${TOOLS:-"restic borg lifeboat"}

# Templates: restic-like CLI, password from LIFEBOAT_PASSWORD (run-peers.sh sets it).
# Values already set in the environment win, so a single phase can be overridden.
deftpl() { [[ -n ${!1:-} ]] || printf -v "$1" '%s' "$2"; }
deftpl TPL_lifeboat_check "$LIFEBOAT_BIN --version 2>/dev/null || $LIFEBOAT_BIN version 2>/dev/null || command -v $LIFEBOAT_BIN"
deftpl TPL_lifeboat_init "$LIFEBOAT_BIN -r {repo} init"
deftpl TPL_lifeboat_backup "$LIFEBOAT_BIN -r {repo} backup {src}"
deftpl TPL_lifeboat_restore "$LIFEBOAT_BIN -r {repo} restore latest --target {dst}"
export TPL_lifeboat_check TPL_lifeboat_init TPL_lifeboat_backup TPL_lifeboat_restore

if [[ ${MAKE_DATA:-1} == 1 ]]; then
    # make-data.sh builds d1, d2 (+d2mod), d3 (+d3mod); the other datasets derive from them.
    need=()
    for ds in ${DATASETS:-d1 d2 d3}; do
        case $ds in
            d1) need+=(d1) ;; d2 | d2ins) need+=(d2) ;; d3 | d3q | d3h | d3x2) need+=(d3) ;;
        esac
    done
    for ds in $(printf '%s\n' "${need[@]}" | sort -u); do
        echo "==> make-data.sh $ds"
        bash "$BENCH/make-data.sh" "$ds"
    done
fi

echo "==> run-peers.sh  TOOLS=\"$TOOLS\"  DATASETS=\"${DATASETS:-d1 d2 d3}\"  REPEAT=${REPEAT:-3}"
echo "    lifeboat: $LIFEBOAT_BIN"
exec bash "$BENCH/run-peers.sh" "$@"
