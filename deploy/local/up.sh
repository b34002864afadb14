#!/usr/bin/env bash
# Starts one global control plane and N zone control planes on this machine (loopback only, embedded sqlite
# store), issues the zones' tokens, configures fedctl, and prints where everything listens. Ctrl-C stops all.
#
#   deploy/local/up.sh [--zones N] [--data-dir DIR] [--no-build] [--store sqlite|memory]
#
# Ports: global API 5681, KDS 5685; zone i (1-based): API 15681+1000*(i-1), xDS 15678+1000*(i-1),
# DNS 15653+1000*(i-1). Data, logs and tokens go under the data dir (default ./data/local); a second run
# reuses them, so nothing applied is lost across restarts. When one process exits (you killed a zone to watch
# the global mark it Offline), the others keep running; `$DATA/start-<name>.sh` starts it again.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
zones=2
data="$root/data/local"
build=1
store=sqlite
while [ $# -gt 0 ]; do
  case "$1" in
    --zones) zones="$2"; shift 2 ;;
    --data-dir) data="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --store) store="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "up.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$zones" in ''|*[!0-9]*) echo "up.sh: --zones must be a number" >&2; exit 2 ;; esac
mkdir -p "$data"
data=$(cd "$data" && pwd)

bin="$root/artifacts/bin"
global_bin="$bin/Federation.Global/release/federation-global"
zone_bin="$bin/Federation.Zone/release/federation-zone"
fedctl="$bin/Federation.Cli/release/fedctl"

if [ "$build" = 1 ]; then
  echo "building (Release)..."
  dotnet build "$root/Federation.sln" -c Release -v quiet -nologo >/dev/null
fi
for b in "$global_bin" "$zone_bin" "$fedctl"; do
  [ -x "$b" ] || { echo "up.sh: $b is missing; run without --no-build" >&2; exit 1; }
done

pids=()
names=()
stop_all() {
  trap - INT TERM EXIT
  if [ ${#pids[@]} -gt 0 ]; then
    echo; echo "stopping ${#pids[@]} processes..."
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap stop_all EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_http() {
  local url=$1 name=$2 log=$3
  for _ in $(seq 1 150); do
    if curl -fs "$url" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then
      echo "up.sh: $name exited; last lines of $log:" >&2; tail -n 20 "$log" >&2; exit 1
    fi
    sleep 0.2
  done
  echo "up.sh: $name did not answer on $url within 30s; see $log" >&2; exit 1
}

for p in 5681 5685; do port_free "$p" || { echo "up.sh: port $p is in use (another global running?)" >&2; exit 1; }; done
# Writes $data/start-<name>.sh (the process's command line, log appended) and runs it in the background.
start() {
  local name=$1; shift
  local script="$data/start-$name.sh"
  { echo '#!/usr/bin/env bash'; echo "# starts $name again as up.sh started it (written by deploy/local/up.sh)";
    printf 'exec'; printf ' %q' "$@"; printf ' >>%q 2>&1\n' "$data/$name.log"; } >"$script"
  chmod +x "$script"
  : >"$data/$name.log"
  "$script" &
  pids+=($!)
  names+=("$name")
}

start global "$global_bin" --api-port 5681 --kds-port 5685 --data-dir "$data/global" --store "$store"
wait_http http://127.0.0.1:5681/ "the global control plane" "$data/global.log"
admin_token=$(cat "$data/global/admin-token")

"$fedctl" config control-planes add --name local --address http://127.0.0.1:5681 --token-file "$data/global/admin-token" --overwrite >/dev/null

echo
echo "Federation is up (data: $data)"
echo "  global     API http://127.0.0.1:5681   KDS https://127.0.0.1:5685   log $data/global.log"
for i in $(seq 1 "$zones"); do
  name="zone-$i"
  off=$(( (i - 1) * 1000 ))
  api=$((15681 + off)); xds=$((15678 + off)); dns=$((15653 + off))
  for p in $api $xds; do port_free "$p" || { echo "up.sh: port $p for $name is in use" >&2; exit 1; }; done
  token="$data/$name.token"
  if [ ! -s "$token" ]; then
    "$fedctl" --api http://127.0.0.1:5681 --token "$admin_token" generate zone-token --zone "$name" --valid-for 8760h >"$token"
    chmod 600 "$token"
  fi
  start "$name" "$zone_bin" --zone "$name" --api-port "$api" --xds-port "$xds" --dns-port "$dns" --data-dir "$data/$name" \
    --store "$store" --global-address https://127.0.0.1:5685 --zone-token-file "$token" --kds-ca-file "$data/global/kds-ca.pem"
  wait_http "http://127.0.0.1:$api/" "$name" "$data/$name.log"
  "$fedctl" config control-planes add --name "$name" --address "http://127.0.0.1:$api" --token-file "$data/$name/admin-token" --overwrite >/dev/null
  echo "  $name     API http://127.0.0.1:$api  xDS 127.0.0.1:$xds  DNS 127.0.0.1:$dns/udp  log $data/$name.log"
done
"$fedctl" config control-planes use local >/dev/null
echo
echo "fedctl is configured: control plane 'local' (the global, current) and one per zone, so"
echo "'fedctl --api http://127.0.0.1:15681 ...' talks to zone-1 with its admin token. Try:"
echo "  $fedctl inspect zones"
echo "  $fedctl apply -f deploy/local/examples/mesh.yaml"
echo "  $fedctl --api http://127.0.0.1:15681 apply -f deploy/local/examples/dataplane.yaml"
echo "  $fedctl get dataplanes"
echo "or run a proxyless gRPC app in zone-1 under fed-dp (it registers the Dataplane itself):"
echo "  $fedctl generate dataplane-token --mesh default --name backend-1 > $data/backend-1.token"
echo "  $bin/Federation.Dataplane/release/fed-dp run --type proxyless --cp http://127.0.0.1:15681 \\"
echo "      --dataplane deploy/local/examples/dataplane.yaml --token-file $data/backend-1.token \\"
echo "      --bootstrap-out $data/backend-1/bootstrap.json --certs-dir $data/backend-1/certs -- <your gRPC app>"
echo "  $fedctl --api http://127.0.0.1:15681 inspect dataplanes"
echo "Ctrl-C stops everything."

# One process exiting leaves the others running (the global marks a stopped zone Offline; start it again with
# its start script and it resyncs). Ctrl-C stops what up.sh started.
while [ ${#pids[@]} -gt 0 ]; do
  wait -n "${pids[@]}" 2>/dev/null || true
  alive=(); alive_names=()
  for i in "${!pids[@]}"; do
    if kill -0 "${pids[$i]}" 2>/dev/null; then
      alive+=("${pids[$i]}"); alive_names+=("${names[$i]}")
    else
      echo "up.sh: ${names[$i]} exited (log $data/${names[$i]}.log); the others keep running. Start it again with: $data/start-${names[$i]}.sh" >&2
    fi
  done
  pids=("${alive[@]}"); names=("${alive_names[@]}")
done
