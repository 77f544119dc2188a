#!/usr/bin/env bash
# System packages the e2e/browser tiers and the compose validation need, installed idempotently:
# Debian's chromium (Playwright drives the system binary; it cannot download its own browser here)
# and docker-compose (only for `docker-compose config`; no Docker engine is needed).
# Called by scripts/test.sh before pytest. Safe to run again: it installs only what is missing.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
  echo "e2e-prerequisites: need root (or sudo) to install: ${missing[*]}" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "==> installing system packages for the e2e and browser tiers: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# chromium is required (the browser test fails without it); docker-compose is best effort:
# the compose test skips its `docker-compose config` part when the package is unavailable.
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
if [[ " ${missing[*]} " == *" docker-compose "* ]]; then
  $SUDO apt-get install -y -qq --no-install-recommends docker-compose >/dev/null \
    || echo "e2e-prerequisites: docker-compose could not be installed; its check will be skipped" >&2
fi
command -v chromium >/dev/null 2>&1 || { echo "e2e-prerequisites: chromium missing after install" >&2; exit 1; }
