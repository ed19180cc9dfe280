#!/usr/bin/env bash
# Local PostgreSQL for development and tests.
#
# Use it as a library:
#   source scripts/postgres.sh
#   ensure_postgres_installed
#   conn="$(start_postgres .data/postgres rootcause)"   # prints the connection string
#   stop_postgres .data/postgres
# or as a command:
#   scripts/postgres.sh start .data/postgres [database]
#   scripts/postgres.sh stop .data/postgres
#   scripts/postgres.sh ensure
#
# start_postgres keeps the cluster in DATADIR between runs (initdb only the first time), listens on
# 127.0.0.1 only, on the port it used last time if that port is still free (else a free one), and
# puts its unix socket inside DATADIR. It prints exactly one line on stdout, the Npgsql connection
# string, and also exports it as ROOTCAUSE_POSTGRES when called in the current shell. Everything
# else goes to stderr, so `conn="$(start_postgres DIR)"` works.
#
# PostgreSQL refuses to run as root. When this runs as root, the server runs as the `postgres` OS
# user if there is one, else as a system user `rootcause` created on first use. As a normal user,
# the server runs as that user.
#
# ROOTCAUSE_PG_FAST=1 turns durability off (fsync, synchronous_commit, full_page_writes): only for
# throwaway test clusters.

set -euo pipefail

readonly ROOTCAUSE_PG_ROLE="rootcause"

_pg_log() { printf '[postgres] %s\n' "$*" >&2; }

# Prints the directory holding initdb/pg_ctl (PATH first, then Debian's versioned directories).
pg_bin_dir() {
    local candidate
    if candidate="$(command -v initdb 2>/dev/null)" && [[ -n "$candidate" ]]; then
        dirname "$(readlink -f "$candidate")"
        return 0
    fi
    candidate="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -n "$candidate" && -x "$candidate/initdb" ]]; then
        printf '%s\n' "$candidate"
        return 0
    fi
    return 1
}

_as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        _pg_log "need root (or sudo) to run: $*"
        return 1
    fi
}

ensure_postgres_installed() {
    if pg_bin_dir >/dev/null; then
        return 0
    fi
    _pg_log "PostgreSQL not found; installing it with apt-get"
    _as_root apt-get update
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql
    pg_bin_dir >/dev/null || { _pg_log "initdb still not found after installing postgresql"; return 1; }
}

# The OS user the server runs as.
pg_os_user() {
    if [[ $EUID -ne 0 ]]; then
        id -un
    elif id postgres >/dev/null 2>&1; then
        printf 'postgres\n'
    else
        if ! id rootcause >/dev/null 2>&1; then
            _pg_log "creating system user rootcause to run PostgreSQL"
            useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin rootcause
        fi
        printf 'rootcause\n'
    fi
}

# Runs a command as the server's OS user.
_as_pg_user() {
    local user="$1"
    shift
    if [[ $EUID -ne 0 ]]; then
        "$@"
    else
        runuser -u "$user" -- "$@"
    fi
}

# The server user must be able to traverse every ancestor of the data directory.
_ensure_traversable() {
    local user="$1" dir="$2"
    [[ $EUID -eq 0 ]] || return 0
    local path=""
    local part
    local -a parts
    IFS='/' read -r -a parts <<<"${dir#/}"
    for part in "${parts[@]}"; do
        path="$path/$part"
        if ! runuser -u "$user" -- test -x "$path"; then
            _pg_log "granting o+x on $path so that $user can reach the data directory"
            chmod o+x "$path"
        fi
    done
}

_port_in_use() {
    local port="$1"
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

_pick_port() {
    local preferred="${1:-}"
    if [[ -n "$preferred" ]] && ! _port_in_use "$preferred"; then
        printf '%s\n' "$preferred"
        return 0
    fi
    local port attempt
    for attempt in $(seq 1 200); do
        port=$((20000 + RANDOM % 40000))
        if ! _port_in_use "$port"; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    _pg_log "no free TCP port found"
    return 1
}

_abs_path() {
    local dir="$1"
    mkdir -p "$dir"
    (cd "$dir" && pwd -P)
}

_connection_string() {
    local datadir="$1" database="${2:-}"
    local port password
    port="$(cat "$datadir/rootcause.port")"
    password="$(cat "$datadir/rootcause.password")"
    local conn="Host=127.0.0.1;Port=$port;Username=$ROOTCAUSE_PG_ROLE;Password=$password"
    if [[ -n "$database" ]]; then
        conn="$conn;Database=$database"
    fi
    printf '%s\n' "$conn"
}

# start_postgres DATADIR [DATABASE]: starts (creating if needed) the cluster, prints the connection string.
start_postgres() {
    local datadir_arg="${1:?usage: start_postgres DATADIR [DATABASE]}" database="${2:-}"
    ensure_postgres_installed
    local bin user datadir
    bin="$(pg_bin_dir)"
    user="$(pg_os_user)"
    datadir="$(_abs_path "$datadir_arg")"
    _ensure_traversable "$user" "$datadir"

    if [[ ! -f "$datadir/PG_VERSION" ]]; then
        _pg_log "initialising a new cluster in $datadir (server user: $user)"
        if [[ $EUID -eq 0 ]]; then
            chown "$user" "$datadir"
        fi
        chmod 700 "$datadir"
        local pwfile
        pwfile="$(mktemp)"
        od -An -tx1 -N18 /dev/urandom | tr -d ' \n' >"$pwfile"
        if [[ $EUID -eq 0 ]]; then
            chown "$user" "$pwfile"
        fi
        _as_pg_user "$user" "$bin/initdb" --pgdata="$datadir" --username="$ROOTCAUSE_PG_ROLE" \
            --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
            --encoding=UTF8 --locale=C.UTF-8 --no-instructions >&2
        # initdb refuses a non-empty directory, so our own files are written after it.
        cp "$pwfile" "$datadir/rootcause.password"
        rm -f "$pwfile"
        printf "\ninclude_if_exists = 'rootcause.conf'\n" >>"$datadir/postgresql.conf"
        if [[ $EUID -eq 0 ]]; then
            chown "$user" "$datadir/rootcause.password" "$datadir/postgresql.conf"
        fi
        chmod 600 "$datadir/rootcause.password"
    fi

    if _as_pg_user "$user" "$bin/pg_ctl" status --pgdata="$datadir" >/dev/null 2>&1; then
        _pg_log "already running from $datadir"
    else
        local previous="" port
        [[ -f "$datadir/rootcause.port" ]] && previous="$(cat "$datadir/rootcause.port")"
        port="$(_pick_port "$previous")"
        local fast="" max_connections=300
        if [[ "${ROOTCAUSE_PG_FAST:-0}" == "1" ]]; then
            fast=$'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n'
            # The test run starts many silos, each with its own pools: room to spare.
            max_connections=600
        fi
        # Rewritten on every start: the port may change, the socket directory follows the data directory.
        cat >"$datadir/rootcause.conf" <<EOF
# Written by scripts/postgres.sh on every start; edit the script, not this file.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$datadir'
max_connections = $max_connections
$fast
EOF
        printf '%s\n' "$port" >"$datadir/rootcause.port"
        if [[ $EUID -eq 0 ]]; then
            chown "$user" "$datadir/rootcause.conf" "$datadir/rootcause.port"
        fi
        _pg_log "starting on 127.0.0.1:$port"
        if ! _as_pg_user "$user" "$bin/pg_ctl" start --pgdata="$datadir" --log="$datadir/server.log" \
            --wait --timeout=60 >&2; then
            _pg_log "PostgreSQL failed to start; last lines of $datadir/server.log:"
            tail -n 20 "$datadir/server.log" >&2 || true
            return 1
        fi
    fi

    ROOTCAUSE_POSTGRES="$(_connection_string "$datadir" "$database")"
    export ROOTCAUSE_POSTGRES
    printf '%s\n' "$ROOTCAUSE_POSTGRES"
}

# stop_postgres DATADIR: fast shutdown (rolls back open transactions, then stops).
stop_postgres() {
    local datadir_arg="${1:?usage: stop_postgres DATADIR}"
    [[ -f "$datadir_arg/PG_VERSION" ]] || return 0
    local bin user datadir
    bin="$(pg_bin_dir)" || return 0
    user="$(pg_os_user)"
    datadir="$(cd "$datadir_arg" && pwd -P)"
    if _as_pg_user "$user" "$bin/pg_ctl" status --pgdata="$datadir" >/dev/null 2>&1; then
        _pg_log "stopping the server in $datadir"
        _as_pg_user "$user" "$bin/pg_ctl" stop --pgdata="$datadir" --mode=fast --wait >&2
    fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    case "${1:-}" in
        start) shift; start_postgres "$@" ;;
        stop) shift; stop_postgres "$@" ;;
        ensure) ensure_postgres_installed ;;
        *)
            echo "usage: $0 start DATADIR [DATABASE] | stop DATADIR | ensure" >&2
            exit 2
            ;;
    esac
fi
