#!/bin/sh
# Kubernetes backup/restore figures against the API-server double on loopback (release build).
# usage: bench-k8s.sh N   (e.g. 10000 or 100000)
set -eu
N=${1:-10000}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BIN=${LIFEBOAT_BIN:-$ROOT/.build/release/lifeboat}
DATA=${SHARED_DIR:-$ROOT/../shared}/testdata/kubernetes
W=$(mktemp -d)
trap 'kill $DPID 2>/dev/null; wait $DPID 2>/dev/null; rm -rf "$W"' EXIT
cd "$W"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt -days 1 -subj /CN=ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout s.key -out s.csr -subj /CN=api 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > ext
openssl x509 -req -in s.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out s.crt -days 1 -extfile ext 2>/dev/null
python3 "$ROOT/Tests/LifeboatKubernetesTests/Fixtures/apiserver.py" --data "$DATA" --cert s.crt --key s.key \
    --token t --empty --generate "$N" > port 2>/dev/null &
DPID=$!
while [ ! -s port ]; do sleep 0.2; done
cat > kc <<KC
apiVersion: v1
kind: Config
current-context: b
clusters: [{name: bench, cluster: {server: "https://127.0.0.1:$(head -1 port)", certificate-authority: $W/ca.crt}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: b, context: {cluster: bench, user: u}}]
KC
export LIFEBOAT_PASSWORD=bench
"$BIN" -r repo init -q >/dev/null
echo "== first backup of $N objects"
/usr/bin/time -v "$BIN" -r repo k8s backup --kubeconfig kc 2> time1 | tail -2
grep -E 'Elapsed|Maximum resident' time1
S1=$(du -sb repo | cut -f1)
echo "== unchanged second backup"
/usr/bin/time -v "$BIN" -r repo k8s backup --kubeconfig kc 2> time2 | tail -2
grep -E 'Elapsed|Maximum resident' time2
S2=$(du -sb repo | cut -f1)
echo "repository grew by $((S2 - S1)) bytes"
echo "== single-object restore"
/usr/bin/time -v "$BIN" -r repo k8s restore latest namespaces/bench-042/configmaps/cm-000042 --to-dir out 2> time3 | tail -1
grep -E 'Elapsed|Maximum resident' time3
ls out
