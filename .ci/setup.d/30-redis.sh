#!/usr/bin/env bash
# Redis for the RedisStore tests: one throwaway server on 127.0.0.1, no persistence.
# The tests read TLSLITE_MLS_REDIS_URL and default to redis://127.0.0.1:6390/0, a port
# of its own so a developer's Redis on 6379 is never touched. Idempotent: installs
# redis-server only when missing and starts it only when nothing answers.
set -euo pipefail

PORT=6390
WORKDIR="${TMPDIR:-/tmp}/tlslite-mls-redis-$PORT"

ping_redis() {
    # A raw PING over bash's /dev/tcp: needs no client, and fails fast when closed.
    local reply
    { exec 3<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null || return 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 reply <&3 || reply=""
    exec 3<&- 3>&-
    [[ "$reply" == "+PONG"* ]]
}

if ping_redis; then
    echo "redis already answering on 127.0.0.1:$PORT"
    exit 0
fi

if ! command -v redis-server >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    # Refresh the package lists only when they do not know redis-server yet.
    if ! apt-cache policy redis-server 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        apt-get update -q
    fi
    apt-get install -y -q --no-install-recommends redis-server >/dev/null
fi

mkdir -p "$WORKDIR"
redis-server --port "$PORT" --bind 127.0.0.1 --protected-mode yes \
    --save '' --appendonly no --daemonize yes \
    --dir "$WORKDIR" --pidfile "$WORKDIR/redis.pid" --logfile "$WORKDIR/redis.log"

for _ in $(seq 1 50); do
    if ping_redis; then
        echo "redis started on 127.0.0.1:$PORT"
        exit 0
    fi
    sleep 0.1
done
echo "redis-server did not answer on 127.0.0.1:$PORT; log follows" >&2
cat "$WORKDIR/redis.log" >&2 || true
exit 1
