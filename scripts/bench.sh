#!/usr/bin/env bash
# Runs the foundation benchmark (tools/RootCause.Benchmarks) against a local PostgreSQL.
#
#   scripts/bench.sh                        # the full default run: 10,000 investigations, 100,000 events
#   scripts/bench.sh --events 20000 --concurrency 64 --keep
#   scripts/bench.sh search                 # the search benchmark: 1,000,000 events, 100,000 investigations
#   scripts/bench.sh visibility             # change visibility in the search index on two silos
#   scripts/bench.sh connectors             # each connector parses and ingests 100 events (p99 aim 50 ms)
#   scripts/bench.sh linking                # linker throughput and ack → link latency, 1,000 open investigations
#
# Builds Release, starts (or reuses) the PostgreSQL cluster in .data/bench-postgres through
# scripts/postgres.sh, runs the benchmark with every argument passed through, and stops that
# PostgreSQL again on exit. The benchmark creates and drops its own database. The cluster runs with
# its normal durability (fsync and synchronous_commit on): ROOTCAUSE_PG_FAST is cleared here, because
# figures measured without durable commits would say nothing about production.
#
# Progress goes to stderr, the Markdown result table to stdout:
#   scripts/bench.sh > bench-result.md

set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh

readonly bench_pgdata=".data/bench-postgres"

echo "[bench] building Release" >&2
dotnet build tools/RootCause.Benchmarks/RootCause.Benchmarks.csproj -c Release --nologo -v quiet >&2

ensure_postgres_installed
unset ROOTCAUSE_PG_FAST
# A cluster left running by an earlier, interrupted run may hold fast settings: restart it with ours.
stop_postgres "$bench_pgdata"
trap 'stop_postgres "$bench_pgdata"' EXIT
connection="$(start_postgres "$bench_pgdata")"

# "search", "visibility", "connectors" or "linking" selects that benchmark (scripts/bench.sh search --events 100000); it stays first.
command=()
if [[ "${1:-}" == "search" || "${1:-}" == "visibility" || "${1:-}" == "connectors" || "${1:-}" == "linking" ]]; then
    command=("$1")
    shift
fi

dotnet run --project tools/RootCause.Benchmarks/RootCause.Benchmarks.csproj -c Release --no-build -- \
    "${command[@]}" --connection "$connection" "$@"
