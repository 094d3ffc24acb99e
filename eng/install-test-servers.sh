#!/usr/bin/env bash
# Installs the real servers that integration tests start on loopback: an SMTP server (aiosmtpd), PostgreSQL and Redis
# (the Orleans cluster's membership); and
# Debian's chromium, the headless browser the measurement report is opened in.
# Idempotent; does nothing when they are present.
set -euo pipefail
need=()
# Debian's package installs into the system Python; a python3 earlier on PATH (pyenv) may not see it.
{ /usr/bin/python3 -c "import aiosmtpd" || python3 -c "import aiosmtpd"; } >/dev/null 2>&1 || need+=(python3-aiosmtpd)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# The Orleans cluster tests keep silo membership in Redis (Microsoft.Orleans.Clustering.Redis).
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || need+=(redis-server)
# The measurement report is checked in a real headless browser.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing ${need[*]}; run as root or install them: apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "Installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
