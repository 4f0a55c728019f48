# A throwaway PostgreSQL server for tests and benchmarks (source it; it defines functions only):
#   pg_start      installs Debian's `postgresql` when missing, initialises a cluster in a new
#                 temporary directory as the unprivileged `postgres` user (the server refuses
#                 root), starts it on a free port of 127.0.0.1 and sets PG_URL (the `postgres`
#                 database of superuser `gatehouse`, trust auth on loopback), PG_PORT, PG_WORK,
#                 PG_START and PG_STOP (shell commands that start and stop it again);
#   pg_createdb N creates database N and prints its URL;
#   pg_stop       stops the server and removes its directory (safe to call twice; put it in an
#                 EXIT trap).
# Needs steps.sh (step, as_root). Debian keeps the server binaries off PATH, in the versioned
# directory of the package the `postgresql` metapackage depends on.

pg_start() {
    if ! dpkg-query -W -f='${Status}' postgresql 2>/dev/null | grep -q 'ok installed'; then
        step "apt-get install postgresql" as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends postgresql
    fi
    local package initdb
    package=$(dpkg-query -W -f='${Depends}' postgresql | grep -o 'postgresql-[0-9]\+' | head -1)
    initdb=$(dpkg -L "$package" | grep '/bin/initdb$' | head -1)
    PGBIN=$(dirname "$initdb")
    PG_WORK=$(mktemp -d)
    chmod 755 "$PG_WORK"
    mkdir "$PG_WORK/data" "$PG_WORK/socket"
    as_root chown postgres "$PG_WORK/data" "$PG_WORK/socket"
    PG_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # max_connections: every server has a pool of up to 16, and tests run several at once.
    local options="-p $PG_PORT -k $PG_WORK/socket -c listen_addresses=127.0.0.1 -c max_connections=300"
    local as_postgres="runuser -u postgres --"
    [[ $EUID -eq 0 ]] || as_postgres="sudo $as_postgres"
    PG_START="$as_postgres $PGBIN/pg_ctl -D $PG_WORK/data -o '$options' -l $PG_WORK/data/server.log -w start"
    PG_STOP="$as_postgres $PGBIN/pg_ctl -D $PG_WORK/data -m fast -w stop"
    step initdb as_root runuser -u postgres -- "$PGBIN/initdb" -D "$PG_WORK/data" -A trust -U gatehouse --no-sync
    step "pg_ctl start" bash -c "$PG_START"
    PG_URL=postgres://gatehouse@127.0.0.1:$PG_PORT/postgres
    printf '[%s] PostgreSQL %s on %s\n' "$STEP_TAG" "$("$PGBIN/postgres" --version | awk '{print $3}')" "$PG_URL"
}

pg_createdb() {
    "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U gatehouse -d postgres -qc "CREATE DATABASE $1" >&2
    printf 'postgres://gatehouse@127.0.0.1:%s/%s\n' "$PG_PORT" "$1"
}

pg_stop() {
    if [[ -n ${PG_WORK:-} ]]; then
        if [[ -f $PG_WORK/data/postmaster.pid ]]; then
            as_root runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_WORK/data" -m immediate -w stop \
                >/dev/null 2>&1 || true
        fi
        rm -rf "$PG_WORK"
        PG_WORK=
    fi
}
