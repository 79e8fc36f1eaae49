#!/bin/bash
# prune and check: lifeboat (release build) vs restic, on copies of one repository, one run.
# Usage: scripts/bench-maintenance.sh BASE_REPO WORKDIR   (BASE_REPO: forgotten snapshots, garbage left)
# Password in RESTIC_PASSWORD. Prints wall time and peak RSS per command.
set -euo pipefail
base=$1; work=$2
lb=${LIFEBOAT_BIN:-$(cd "$(dirname "$0")/.." && pwd)/.build/release/lifeboat}
export LIFEBOAT_PASSWORD=$RESTIC_PASSWORD
mkdir -p "$work"
measure() {  # name, command...
    local name=$1; shift
    if [ "${DROP_CACHES:-1}" = 1 ]; then sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; fi
    /usr/bin/time -v "$@" > "$work/$name.out" 2> "$work/$name.err" || { echo "$name FAILED"; tail -5 "$work/$name.err"; }
    local wall rss
    wall=$(grep "Elapsed (wall clock)" "$work/$name.err" | awk '{print $NF}')
    rss=$(grep "Maximum resident set size" "$work/$name.err" | awk '{print $NF}')
    printf "%-28s wall %-10s peak RSS %6d MiB\n" "$name" "$wall" $((rss / 1024))
}
for tool in restic lifeboat; do rm -rf "$work/$tool"; cp -a "$base" "$work/$tool"; done
du -sh "$base"
# Opening the repository (scrypt on restic's key: N=2^15, r=8, p=5) is a fixed cost of every
# command; measured alone so the maintenance work itself can be compared.
measure restic-open restic --no-cache -r "$work/restic" cat config
measure lifeboat-open "$lb" -r "$work/lifeboat" cat config
measure restic-prune restic --no-cache -r "$work/restic" prune --max-unused 5%
measure lifeboat-prune "$lb" -r "$work/lifeboat" prune --max-unused 5%
measure restic-check restic --no-cache -r "$work/restic" check
measure lifeboat-check "$lb" -r "$work/lifeboat" check
measure restic-check-read-data restic --no-cache -r "$work/restic" check --read-data
measure lifeboat-check-read-data "$lb" -r "$work/lifeboat" check --read-data
# Cross-check: each tool verifies the other's pruned repository.
restic --no-cache -r "$work/lifeboat" check --read-data > "$work/cross-restic.out" 2>&1 && echo "restic check --read-data of lifeboat-pruned repo: clean" || echo "restic check of lifeboat-pruned repo: FAILED"
"$lb" -r "$work/restic" check > "$work/cross-lifeboat.out" 2>&1 && echo "lifeboat check of restic-pruned repo: clean" || echo "lifeboat check of restic-pruned repo: FAILED"
du -sh "$work/restic" "$work/lifeboat"
