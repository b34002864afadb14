#!/usr/bin/env bash
# Runs every test of Federation: format check, build (warnings are errors), .NET tests (unit, store contracts
# against a real redis-server, integration with real control planes), and the Node end-to-end tests.
# Installs what is missing first: redis-server (Debian), the Node test packages (from the committed lock file).
set -euo pipefail
cd "$(dirname "$0")"

log() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v dig >/dev/null 2>&1 || need_apt+=(dnsutils)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
for tool in dotnet node npm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is required (see README: prerequisites)" >&2; exit 1; }
done

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

log "restore"
dotnet restore Federation.sln

log "format check"
dotnet format Federation.sln --verify-no-changes --no-restore

log "build (Release, warnings as errors)"
dotnet build Federation.sln -c Release --no-restore

log ".NET tests"
dotnet test Federation.sln -c Release --no-build

if [ -f tests/e2e/package-lock.json ]; then
  log "end-to-end tests (Node)"
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error && npm test)
fi

log "all tests passed"
