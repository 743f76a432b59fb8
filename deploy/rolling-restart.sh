#!/usr/bin/env bash
# Upgrade in place: migrate once, then restart the instances one at a time, each back on /health
# before the next goes down. Usage: deploy/rolling-restart.sh 8001 8002 [...]
# Instances of the previous version keep serving on the migrated schema until their turn (see
# docs/deployment.md for the one exception). There are no downgrades: take an
# `autopack backup` first and restore it to go back.
set -euo pipefail
AUTOPACK=${AUTOPACK:-/opt/autopack/.venv/bin/autopack}
ENV_FILE=${ENV_FILE:-/etc/autopack/autopack.env}
[ "$#" -gt 0 ] || { echo "usage: $0 PORT [PORT...]" >&2; exit 2; }
set -a; . "$ENV_FILE"; set +a
"$AUTOPACK" backup "/var/backups/autopack/before-upgrade-$(date -u +%Y%m%dT%H%M%SZ).tar.gz"
"$AUTOPACK" migrate
for port in "$@"; do
  systemctl restart "autopack@${port}"
  for _ in $(seq 1 60); do
    if curl -fsS "http://127.0.0.1:${port}/health" >/dev/null; then break; fi
    sleep 1
  done
  curl -fsS "http://127.0.0.1:${port}/health" >/dev/null || { echo "instance ${port} did not come back" >&2; exit 1; }
  echo "instance ${port} restarted"
done
