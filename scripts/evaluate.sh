#!/usr/bin/env bash
# Measures linking accuracy on the labelled corpus in corpus/linking (tools/RootCause.Evaluation).
#
#   scripts/evaluate.sh                       # pipeline mode: a complete silo on a fresh database, scenarios replayed over HTTP
#   scripts/evaluate.sh --mode scorer         # the pure scorer over every (investigation, event) pair, no database
#   scripts/evaluate.sh --scenario s01 --keep # one scenario, keep the run's database
#   scripts/evaluate.sh --mode generate       # re-expand corpus/linking/specs into corpus/linking/scenarios
#
# Builds Release. For pipeline mode it starts (or reuses) the PostgreSQL cluster in
# .data/evaluate-postgres through scripts/postgres.sh and stops it again on exit; the tool creates
# and drops its own database. Progress goes to stderr, the Markdown report to stdout:
#   scripts/evaluate.sh --mode scorer > linking-accuracy.md

set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh

readonly evaluate_pgdata=".data/evaluate-postgres"

echo "[evaluate] building Release" >&2
dotnet build tools/RootCause.Evaluation/RootCause.Evaluation.csproj -c Release --nologo -v quiet >&2

mode="pipeline"
previous=""
for argument in "$@"; do
    if [[ "$previous" == "--mode" ]]; then
        mode="$argument"
    fi
    previous="$argument"
done

run_tool() {
    dotnet run --project tools/RootCause.Evaluation/RootCause.Evaluation.csproj -c Release --no-build -- "$@"
}

if [[ "$mode" != "pipeline" ]]; then
    run_tool "$@"
    exit $?
fi

ensure_postgres_installed
trap 'stop_postgres "$evaluate_pgdata"' EXIT
connection="$(start_postgres "$evaluate_pgdata")"
run_tool --connection "$connection" "$@"
