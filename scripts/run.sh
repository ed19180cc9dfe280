#!/usr/bin/env bash
# Runs RootCause locally: builds, starts PostgreSQL (data kept in .data/postgres between runs),
# applies migrations, starts one silo serving the API and the web page, prints the URLs, and
# stops everything cleanly on Ctrl-C.
#
#   bash scripts/run.sh            # http://127.0.0.1:5080
#   bash scripts/run.sh --demo     # also loads a realistic demo incident
#   bash scripts/run.sh --port 8080
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

port=5080
demo=false
while [[ $# -gt 0 ]]; do
    case "$1" in
        --demo) demo=true ;;
        --port) port="${2:?--port needs a number}"; shift ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

command -v dotnet >/dev/null || { echo "The .NET SDK is required (dotnet not on PATH)." >&2; exit 1; }
if ! command -v curl >/dev/null && [[ $EUID -eq 0 ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl >&2
fi

# shellcheck source=scripts/postgres.sh
source "$root/scripts/postgres.sh"
ensure_postgres_installed

echo "Building…" >&2
dotnet build "$root/src/Silo/RootCause.Silo.csproj" -c Release -nologo -v quiet >&2

mkdir -p "$root/.data/postgres"
connection="$(start_postgres "$root/.data/postgres" rootcause)"

silo_pid=""
cleanup() {
    trap - INT TERM EXIT
    if [[ -n "$silo_pid" ]] && kill -0 "$silo_pid" 2>/dev/null; then
        echo "Stopping the silo…" >&2
        kill -TERM "$silo_pid" 2>/dev/null || true
        wait "$silo_pid" 2>/dev/null || true
    fi
    stop_postgres "$root/.data/postgres" || true
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# The search index lives beside the database, so a restart resumes it instead of rebuilding.
silo_dir="$root/src/Silo/bin/Release/net10.0"
args=(--urls "http://127.0.0.1:$port" --Cluster:AdvertisedAddress=127.0.0.1 --Search:IndexPath="$root/.data/index")
if [[ "$demo" == true ]]; then
    args+=(--Demo:Load=true)
fi
ConnectionStrings__Postgres="$connection" DOTNET_ENVIRONMENT="${DOTNET_ENVIRONMENT:-Production}" \
    dotnet "$silo_dir/RootCause.Silo.dll" "${args[@]}" &
silo_pid=$!

ready=false
for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then
        ready=true
        cat >&2 <<INFO

RootCause is running.
  Web page        http://127.0.0.1:$port/
  API reference   http://127.0.0.1:$port/docs/api
  OpenAPI         http://127.0.0.1:$port/openapi/v1.json
  Health          http://127.0.0.1:$port/health/ready
  PostgreSQL      $connection
INFO
        if [[ "$demo" == true ]]; then
            echo "  Demo incident   http://127.0.0.1:$port/api/investigations/5e1f0c2a-8d3b-4c4e-9a61-2b7d0e4f1a90" >&2
        fi
        echo "Press Ctrl-C to stop." >&2
        break
    fi
    if ! kill -0 "$silo_pid" 2>/dev/null; then
        echo "The silo exited during start-up (see the log above)." >&2
        exit 1
    fi
    sleep 0.5
done
if [[ "$ready" != true ]]; then
    echo "The silo is not ready after 60 s (see the log above); it keeps running. Press Ctrl-C to stop." >&2
fi

wait "$silo_pid"
