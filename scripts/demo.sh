#!/usr/bin/env bash
# A complete backup/restore cycle with the release binary, step by step.
#
#   scripts/demo.sh            (normally through `make demo`, which builds first)
#   KEEP=1 scripts/demo.sh     keep the temporary sample tree, repository and restore
#
# Steps: make a sample tree -> init -> backup -> change files -> backup ->
# snapshots -> ls latest DIR -> restore one file as it was in the FIRST snapshot,
# chosen by time (--at) -> compare -> check (and `restic check --read-data`
# when restic is installed, as an independent verifier).
# Environment: LIFEBOAT_BIN (default <repo>/.build/release/lifeboat), KEEP.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LIFEBOAT=${LIFEBOAT_BIN:-$ROOT/.build/release/lifeboat}
[[ -x $LIFEBOAT ]] || { echo "demo: $LIFEBOAT not found; run 'make release' (or 'make demo')" >&2; exit 1; }
command -v python3 >/dev/null || { echo "demo: python3 is needed (scripts/install-deps.sh demo)" >&2; exit 1; }

# Only the demo's own settings apply: ignore repository/password settings of the caller.
# A password command or file takes precedence over LIFEBOAT_PASSWORD, so those go too.
unset LIFEBOAT_REPOSITORY LIFEBOAT_PASSWORD_FILE LIFEBOAT_PASSWORD_COMMAND \
      RESTIC_REPOSITORY RESTIC_PASSWORD RESTIC_PASSWORD_FILE RESTIC_PASSWORD_COMMAND
export LIFEBOAT_PASSWORD=lifeboat-demo-password

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lifeboat-demo.XXXXXX")
SRC=$WORK/data        # the tree we protect
REPO=$WORK/repo       # the repository
OUT=$WORK/restore     # where the restore goes
ORIG=$WORK/original   # copies of file contents as they were at the first backup

CURRENT_STEP="setup"
cleanup() {
    local rc=$?
    if [[ $rc -ne 0 ]]; then echo; echo "demo FAILED (exit $rc) during: $CURRENT_STEP" >&2; fi
    if [[ ${KEEP:-0} == 1 ]]; then
        echo "demo: kept $WORK (sample tree: data/, repository: repo/, restore: restore/)"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT

step() { CURRENT_STEP=$*; printf '\n==> %s\n' "$*"; }
show() { printf '    $ %s\n' "$*"; }
say() { printf '    %s\n' "$@"; }   # a short explanation, one line per argument
run() {  # print a command, then run it
    local q=() a
    for a in "$@"; do q+=("$(printf '%q' "$a")"); done
    show "${q[*]}"
    "$@"
}
lifeboat() { run "$LIFEBOAT" "$@"; }

echo "Lifeboat demo"
echo "    binary:     $LIFEBOAT"
echo "    work dir:   $WORK"
echo "    repository: $REPO"
echo "    note: this demo uses LIFEBOAT_PASSWORD=$LIFEBOAT_PASSWORD; never put a real password in the environment of a shared shell."

step "create a sample tree in $SRC"
say "Three small text files, a nested config, a symbolic link, an empty file and 3 MiB of random data."
mkdir -p "$SRC/docs" "$SRC/config/nested/deeper" "$SRC/data" "$ORIG"
printf 'Lifeboat demo notes\nversion: 1\nwritten before the first backup\n' >"$SRC/docs/notes.txt"
printf 'Plan for the old cluster.\nThis file is deleted after the first backup.\n' >"$SRC/docs/old-plan.txt"
printf 'replicas: 3\nimage: example/app:1.0\n' >"$SRC/config/app.yaml"
printf '{"retention": "30d", "verify": true}\n' >"$SRC/config/nested/deeper/settings.json"
ln -s ../docs/notes.txt "$SRC/config/notes-link"
head -c $((3 * 1024 * 1024)) /dev/urandom >"$SRC/data/random-3MiB.bin"
: >"$SRC/data/empty.txt"
cp "$SRC/docs/notes.txt" "$ORIG/notes.txt"
(cd "$SRC" && find . -mindepth 1 \( -type l -printf '    %M %8s  %P -> %l\n' \) -o -printf '    %M %8s  %P\n' | sort -k3)

step "init: create the repository"
say "A repository holds encrypted, deduplicated snapshots in restic's format (version 2)."
lifeboat -r "$REPO" init

[[ -f $REPO/config ]] || { echo "    init did not create $REPO/config" >&2; exit 1; }

step "backup #1"
say "Reads the whole tree and stores it as the first snapshot."
lifeboat -r "$REPO" backup "$SRC"

# Snapshot times have sub-second precision, but make the two backups at least
# two seconds apart so that a whole-second --at below selects the first one.
sleep 2

step "change the tree: modify one file, add one, delete one"
show "echo 'version: 2 (changed after the first backup)' >> $SRC/docs/notes.txt"
echo 'version: 2 (changed after the first backup)' >>"$SRC/docs/notes.txt"
show "echo 'added after the first backup' > $SRC/docs/new-file.txt"
echo 'added after the first backup' >"$SRC/docs/new-file.txt"
run rm "$SRC/docs/old-plan.txt"

step "backup #2 (incremental: only changed data is stored)"
say "Files whose size, times and inode are unchanged since the parent snapshot are not read again;" \
    "only the new and changed files add data to the repository (a few KiB, not another 3 MiB)."
lifeboat -r "$REPO" backup "$SRC"

step "snapshots: list what the repository holds"
say "Times are shown in UTC. Each snapshot is complete on its own; none depends on a previous backup to restore."
lifeboat -r "$REPO" snapshots

step "ls: look inside the newest snapshot"
say "Paths are stored absolute. docs/old-plan.txt is gone here, but the first snapshot still has it."
lifeboat -r "$REPO" ls latest "$SRC/docs"

step "find the time of the first snapshot (snapshots --json)"
say "In an incident you usually know a time (\"before 03:00\") rather than a snapshot ID;" \
    "--at TIME picks the newest snapshot taken at or before that time."
show "$LIFEBOAT -r $REPO snapshots --json > $WORK/snapshots.json"
"$LIFEBOAT" -r "$REPO" snapshots --json >"$WORK/snapshots.json"
AT=$(python3 - "$WORK/snapshots.json" <<'PY'
import json, re, sys
from datetime import datetime, timedelta, timezone

text = open(sys.argv[1]).read()
try:
    doc = json.loads(text)
except ValueError as e:
    sys.exit(f"snapshots --json did not print JSON ({e}); it printed: {text[:200]!r}")
snaps = doc.get("snapshots", doc) if isinstance(doc, dict) else doc
if len(snaps) != 2:
    sys.exit(f"expected 2 snapshots, --json listed {len(snaps)}")

def parse(t):
    # RFC 3339 with any number of fractional digits (restic writes nanoseconds)
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", t)
    if not m:
        sys.exit(f"snapshot time is not RFC 3339: {t!r}")
    base, frac, tz = m.groups()
    dt = datetime.fromisoformat(base + ("+00:00" if tz == "Z" else tz))
    return dt + timedelta(microseconds=int((frac or "0")[:6].ljust(6, "0")))

times = sorted(parse(s["time"]) for s in snaps)
first, second = times
# The first snapshot's time, rounded up to the whole second, in UTC.
at = (first + timedelta(seconds=1)).replace(microsecond=0).astimezone(timezone.utc)
if not first <= at < second:
    sys.exit(f"snapshots too close together to pick one by time: {first} / {second}")
print(at.strftime("%Y-%m-%dT%H:%M:%SZ"))
PY
)
echo "    first snapshot was taken at or just before $AT"

step "restore docs/notes.txt as it was at $AT (the first snapshot) into $OUT"
say "--include restores only the matching file (and the directories leading to it)."
mkdir -p "$OUT"
lifeboat -r "$REPO" restore latest --at "$AT" --target "$OUT" --include "$SRC/docs/notes.txt"

step "compare the restored file with the original content"
# restic-style restores recreate the backed-up absolute path below --target.
restored=$OUT$SRC/docs/notes.txt
[[ -f $restored ]] || { echo "    not found: $restored; restore produced:" >&2; (cd "$OUT" && find . | sed 's/^/      /') >&2; exit 1; }
nfiles=$(find "$OUT" -type f | wc -l)
[[ $nfiles -eq 1 ]] || { echo "    --include should restore exactly one file, got $nfiles:" >&2; find "$OUT" -type f >&2; exit 1; }
run cmp "$ORIG/notes.txt" "$restored"
if cmp -s "$SRC/docs/notes.txt" "$restored"; then
    echo "    restored file equals the CURRENT version; expected the first snapshot's" >&2; exit 1
fi
echo "    OK: $restored matches the content at the first backup"

step "check the repository"
say "Verifies that every index, snapshot and tree decrypts and that every referenced blob is stored." \
    "(\`lifeboat check --read-data\` also reads and verifies every pack.)"
lifeboat -r "$REPO" check

if command -v restic >/dev/null; then
    step "independent verification with restic ($(restic version | head -n1))"
    say "restic reads and verifies every byte Lifeboat wrote; -q hides its progress lines."
    run env RESTIC_PASSWORD="$LIFEBOAT_PASSWORD" restic -q -r "$REPO" --no-cache check --read-data
    say "OK: restic found no errors"
else
    echo
    echo "==> restic not installed: skipping the independent check (scripts/install-deps.sh test installs it)"
fi

CURRENT_STEP="done"
printf '\nDemo complete: all steps succeeded.\n'
