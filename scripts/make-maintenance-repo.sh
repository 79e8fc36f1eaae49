#!/bin/bash
# Builds the restic-made repository that scripts/bench-maintenance.sh prunes and checks:
# ~2.7 GiB, 10 % garbage (whole packs and blobs scattered through packs).
# Usage: scripts/make-maintenance-repo.sh BENCH_DATA_DIR REPO   (data from ../shared/bench/make-data.sh)
# EXTRA: directories of other files, backed up and forgotten (default: Swift's host libraries).
set -euo pipefail
data=$1; repo=$2
extra=${EXTRA:-/opt/swift/usr/lib/swift/host /opt/swift/usr/lib/swift/linux}
export RESTIC_PASSWORD=${RESTIC_PASSWORD:-pw}
r() { restic --no-cache -q -r "$repo" "$@"; }
cd "$data"
r init
r backup d1 d2 d3
r backup --exclude '*[05afk].*' d1 d2 d3   # the same trees minus a scattered tenth
r forget --keep-last 1                       # drops the first: its extra files become garbage
r backup d2mod
r backup $extra  # word-split on purpose: several paths
r forget "$(restic --no-cache -r "$repo" snapshots --json latest | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')"
restic --no-cache -r "$repo" prune --dry-run | tail -7
