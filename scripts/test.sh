#!/usr/bin/env bash
# The test command: builds the solution with warnings as errors, runs every test suite against a
# throwaway PostgreSQL, and prints as its very last line "N passed, N failed" summed over all suites.
# Exits non-zero if the build failed or any test failed.
#
# Adding a suite: write a function suite_NAME that runs it and calls `record_counts NAME PASSED FAILED`
# with numbers parsed from the suite's own report, then add NAME to SUITES.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/postgres.sh
source "$ROOT/scripts/postgres.sh"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
RESULTS_DIR="$ROOT/.artifacts/test-results"
PG_DIR="$ROOT/.data/test-postgres"

SUITES=(dotnet)

TOTAL_PASSED=0
TOTAL_FAILED=0
STATUS=0

record_counts() {
    local suite="$1" passed="$2" failed="$3"
    echo "== $suite: $passed passed, $failed failed"
    TOTAL_PASSED=$((TOTAL_PASSED + passed))
    TOTAL_FAILED=$((TOTAL_FAILED + failed))
    if ((failed > 0)); then
        STATUS=1
    fi
}

# Sums an attribute of the <Counters> element over the given .trx files.
trx_sum() {
    local attribute="$1"
    shift
    local total=0 value file
    for file in "$@"; do
        value="$(grep -o "<Counters [^>]*" "$file" | grep -o " $attribute=\"[0-9]*\"" | grep -o '[0-9]*' || true)"
        total=$((total + ${value:-0}))
    done
    echo "$total"
}

# Names each failed test of the given .trx files with the first line of its message, so the end of
# the output says what failed even when only its tail is kept.
trx_failures() {
    # Each failed test: its name, the first lines of its message and the test-code frames of its stack.
    awk '
        function unescape(text) {
            gsub(/&quot;/, "\"", text); gsub(/&lt;/, "<", text); gsub(/&gt;/, ">", text)
            gsub(/&#xD;/, "", text); gsub(/&amp;/, "\\&", text)
            return text
        }
        /<UnitTestResult / {
            failed = ($0 ~ /outcome="Failed"/)
            if (failed) {
                name = $0; sub(/.*testName="/, "", name); sub(/".*/, "", name)
                if (++count <= 60) { printf "FAILED %s\n", unescape(name); want = 1; lines = 0; frames = 0 }
            }
        }
        want && /<Message>/ { inmessage = 1; sub(/.*<Message>/, "") }
        want && inmessage {
            done = sub(/<\/Message>.*/, "")
            if (++lines <= 8) printf "       %s\n", substr(unescape($0), 1, 300)
            if (done) inmessage = 0
            next
        }
        want && /<StackTrace>/ { instack = 1 }
        want && instack {
            if ($0 ~ /RootCause\.Tests/ && $0 ~ /:line [0-9]+/ && ++frames <= 3) {
                frame = unescape($0); sub(/^ *(<StackTrace>)? */, "", frame); sub(/<\/StackTrace>.*/, "", frame); sub(/ in .*\//, " in ", frame)
                printf "       %s\n", frame
            }
            if ($0 ~ /<\/StackTrace>/) { instack = 0; want = 0 }
        }
        END { if (count > 60) printf "... and %d more failed\n", count - 60 }
    ' "$@"
}

suite_dotnet() {
    local code=0
    dotnet test tests/RootCause.Tests/RootCause.Tests.csproj -c Release --no-build \
        --results-directory "$RESULTS_DIR/dotnet" \
        --logger "trx;LogFileName=dotnet.trx" \
        --logger "console;verbosity=normal" || code=$?

    local trx=()
    mapfile -t trx < <(find "$RESULTS_DIR/dotnet" -name '*.trx' 2>/dev/null)
    if ((${#trx[@]} == 0)); then
        echo "== dotnet: no test results were written (dotnet test exited with $code)"
        STATUS=1
        return 0
    fi
    record_counts dotnet "$(trx_sum passed "${trx[@]}")" "$(trx_sum failed "${trx[@]}")"
    trx_failures "${trx[@]}"
    if ((code != 0)); then
        echo "== dotnet: dotnet test exited with $code"
        STATUS=1
    fi
}

# Test fixtures from npm (GitHub's example webhook payloads), pinned by tests/fixtures/package-lock.json.
install_fixtures() {
    local lock="tests/fixtures/package-lock.json" stamp="tests/fixtures/node_modules/.package-lock.json"
    if [[ ! -f "$stamp" || "$lock" -nt "$stamp" ]]; then
        (cd tests/fixtures && npm ci --no-audit --no-fund --loglevel=error)
    fi
}

cleanup() {
    stop_postgres "$PG_DIR" || true
}

main() {
    rm -rf "$RESULTS_DIR"
    mkdir -p "$RESULTS_DIR"

    ensure_postgres_installed
    install_fixtures
    # A fresh cluster every run: tests create many databases and must not see an old run's state.
    stop_postgres "$PG_DIR" || true
    rm -rf "$PG_DIR"
    trap cleanup EXIT
    ROOTCAUSE_TEST_POSTGRES="$(ROOTCAUSE_PG_FAST=1 start_postgres "$PG_DIR")"
    export ROOTCAUSE_TEST_POSTGRES

    if dotnet build RootCause.sln -c Release -warnaserror; then
        local suite
        for suite in "${SUITES[@]}"; do
            "suite_$suite"
        done
    else
        echo "== build failed: no tests ran"
        STATUS=1
    fi

    cleanup
    trap - EXIT
    echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
    return "$STATUS"
}

main "$@"
