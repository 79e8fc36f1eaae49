#!/usr/bin/env bash
# S3 vs local throughput, requests per pack and s3.connections scaling, on loopback against
# moto_server and against scripts/s3-loopback-server.py (a fast file-backed S3 server, to tell
# client limits from moto's), in the same run. Usage: BENCH=/tmp/s3bench scripts/bench-s3.sh [SIZE_MB]
# Env: CONNECTIONS="5 1 2 10", SERVERS="moto fast". Each S3 run restores and diffs against the data.
# Needs a release build (swift build -c release) and moto_server. Prints a table; leaves nothing running.
set -euo pipefail
BENCH=${BENCH:?set BENCH to a scratch directory}
SIZE_MB=${1:-300}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LB=${LIFEBOAT_BIN:-$ROOT/.build/release/lifeboat}
mkdir -p "$BENCH"
DATA=$BENCH/data
export LIFEBOAT_PASSWORD=bench AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=benchsecret AWS_REGION=us-east-1

if [ ! -f "$DATA/.done-$SIZE_MB" ]; then
  rm -rf "$DATA"; mkdir -p "$DATA/random" "$DATA/text"
  n=$((SIZE_MB / 10))   # half random (incompressible), 40% text (compressible), 10% zeros
  for i in $(seq 1 "$n"); do openssl rand -out "$DATA/random/r$i" $((5 << 20)); done
  for i in $(seq 1 $((SIZE_MB * 4 / 50))); do openssl rand -base64 $((3900 << 10)) > "$DATA/text/t$i"; done
  head -c $((SIZE_MB / 10 << 20)) /dev/zero > "$DATA/zeros"
  touch "$DATA/.done-$SIZE_MB"
fi
BYTES=$(du -sb "$DATA" | cut -f1)

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
MOTO_PORT=$(free_port)
moto_server -H 127.0.0.1 -p "$MOTO_PORT" > "$BENCH/moto.log" 2>&1 &
MOTO=$!
# The fast server: files on disk, bodies in 1 MiB blocks (scripts/s3-loopback-server.py).
rm -rf "$BENCH/fast-root" "$BENCH/fast.port"; : > "$BENCH/fast.log"
python3 "$ROOT/scripts/s3-loopback-server.py" --root "$BENCH/fast-root" --port-file "$BENCH/fast.port" --log "$BENCH/fast.log" &
FAST=$!
trap 'kill $MOTO $FAST 2>/dev/null; wait $MOTO $FAST 2>/dev/null || true; rm -rf "$BENCH/fast-root"' EXIT
for _ in $(seq 100); do [ -s "$BENCH/fast.port" ] && break; sleep 0.1; done
FAST_PORT=$(cat "$BENCH/fast.port")
for port in "$MOTO_PORT" "$FAST_PORT"; do
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.2; done
  curl -sf -X PUT "http://127.0.0.1:$port/bench" > /dev/null
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
now() { date +%s.%N; }
mbps() { python3 -c "print(f'{$BYTES/1048576/($2-$1):.1f}')"; }

echo "data: $((BYTES >> 20)) MiB; load before: $(cut -d' ' -f1-3 /proc/loadavg); workers: ${LIFEBOAT_WORKERS:-cores}"
run_local() {  # sets LOCAL_BACKUP and LOCAL_RESTORE
  rm -rf "$BENCH/local" "$BENCH/out-local" "$BENCH/out-s3"
  "$LB" init -q -r "$BENCH/local"
  # sync before each timed step: no step pays for the previous one's dirty pages.
  local t0 t1 t1r t2
  sync; t0=$(now); "$LB" backup -q -r "$BENCH/local" "$DATA"; t1=$(now)
  sync; t1r=$(now); "$LB" restore -q latest -r "$BENCH/local" --target "$BENCH/out-local"; t2=$(now)
  LOCAL_BACKUP=$(mbps $t0 $t1) LOCAL_RESTORE=$(mbps $t1r $t2)
  rm -rf "$BENCH/local" "$BENCH/out-local"
}

run_s3() {  # $1 = server name (moto|fast), $2 = connections
  local port pid log
  if [ "$1" = moto ]; then port=$MOTO_PORT pid=$MOTO log=$BENCH/moto.log; else port=$FAST_PORT pid=$FAST log=$BENCH/fast.log; fi
  local repo="s3:http://127.0.0.1:$port/bench/c$2"
  "$LB" init -q -r "$repo" --no-cache
  local lines0; lines0=$(wc -l < "$log")
  local c0; c0=$(cpu_ticks $pid)
  local t0 t1 t1r t2; sync; t0=$(now)
  "$LB" backup -q -r "$repo" -o "s3.connections=$2" --no-cache "$DATA"; t1=$(now)
  local c1; c1=$(cpu_ticks $pid)
  local lines1; lines1=$(wc -l < "$log")
  local packs; packs=$(curl -s "http://127.0.0.1:$port/bench?list-type=2&max-keys=100000&prefix=c$2/data/" | grep -o '<Key>' | wc -l)
  rm -rf "$BENCH/out-s3"; sync
  local c1r; c1r=$(cpu_ticks $pid); t1r=$(now)
  "$LB" restore -q latest -r "$repo" -o "s3.connections=$2" --no-cache --target "$BENCH/out-s3"; t2=$(now)
  local c2; c2=$(cpu_ticks $pid)
  local reqs=$((lines1 - lines0))
  python3 - "$1" "$t0" "$t1" "$t1r" "$t2" "$c0" "$c1" "$c1r" "$c2" "$HZ" "$BYTES" "$reqs" "$packs" "$2" "$LOCAL_BACKUP" "$LOCAL_RESTORE" <<'PY'
import sys
name=sys.argv[1]
t0,t1,t1r,t2,c0,c1,c1r,c2,hz,b,reqs,packs,conn,lb,lr=map(float,sys.argv[2:])
gib=b/2**30
bk,rs=b/2**20/(t1-t0),b/2**20/(t2-t1r)
print(f"{name:<4} c={int(conn):<2}  backup {bk:6.1f} MiB/s {100*bk/lb:3.0f}% (server CPU {100*(c1-c0)/hz/(t1-t0):3.0f}%)  "
      f"restore {rs:6.1f} MiB/s {100*rs/lr:3.0f}% (server CPU {100*(c2-c1r)/hz/(t2-t1r):3.0f}%)  "
      f"backup requests {int(reqs)} for {int(packs)} packs = {reqs/packs:.2f}/pack, {reqs/gib:.0f}/GiB")
PY
  diff -rq "$DATA" "$BENCH/out-s3$DATA" > /dev/null || echo "  RESTORE MISMATCH"
  # The fast server keeps objects on disk: free them before the next run.
  [ "$1" = fast ] && rm -rf "$BENCH/fast-root/bench/objects/c$2.o"
  return 0
}
# The machine may be shared: each group measures local first, and its percentages are of that.
for c in ${CONNECTIONS:-5 1 2 10}; do
  run_local
  echo "local       backup $LOCAL_BACKUP MiB/s       restore $LOCAL_RESTORE MiB/s   (100%)"
  for server in ${SERVERS:-moto fast}; do run_s3 "$server" "$c"; done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$BENCH/out-local" "$BENCH/out-s3"
