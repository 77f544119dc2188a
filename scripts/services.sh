#!/usr/bin/env bash
# The services the integration and e2e tiers talk to: PostgreSQL on 127.0.0.1:5432 (user postgres,
# trust) and Redis on 127.0.0.1:6379. Starts whichever is not answering, installing it from Debian's
# packages when it is absent (as e2e-prerequisites.sh does for chromium); otherwise stops at once with
# one line saying what is missing. Called by scripts/test.sh; safe to run again.
set -euo pipefail

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # port, name
  for _ in $(seq 1 50); do
    listening "$1" && return 0
    sleep 0.2
  done
  echo "services: $2 did not start listening on 127.0.0.1:$1" >&2
  exit 1
}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
  command -v sudo >/dev/null 2>&1 || SUDO="__none__"
fi

install_packages() {  # debian package names
  if [ "$SUDO" = "__none__" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "services: missing $* and cannot install it here (needs apt-get and root); install it or start it on 127.0.0.1" >&2
    exit 1
  fi
  echo "==> installing system packages for the test services: $*"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

start_postgres() {
  local fresh=0
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    install_packages postgresql
    fresh=1
  fi
  local version
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  if [ "$fresh" -eq 1 ]; then
    # Debian's cluster asks for passwords over TCP; the tests connect as postgres without one.
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    $SUDO sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
  fi
  echo "==> starting PostgreSQL $version (cluster main)"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_for 5432 PostgreSQL
}

start_redis() {
  command -v redis-server >/dev/null 2>&1 || install_packages redis-server
  echo "==> starting Redis"
  local dir=/var/lib/redis log=/var/log/redis/ci.log
  if [ ! -w "$(dirname "$log")" ] || [ ! -w "$dir" ]; then
    dir="${TMPDIR:-/tmp}" log="${TMPDIR:-/tmp}/okta-salesforce-redis.log"
  fi
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir "$dir" --logfile "$log"
  wait_for 6379 Redis
}

listening 5432 || start_postgres
listening 6379 || start_redis
exit 0
