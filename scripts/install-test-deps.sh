#!/usr/bin/env bash
# Installs what the tests need beyond the build tools: a PostgreSQL server,
# Chromium for the browser tests, Dovecot and aiosmtpd for the email tests, brotli for the bundle size figure, and
# Playwright (npm, without any browser download).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | tail -1)" ] || need+=(postgresql)
command -v chromium >/dev/null || need+=(chromium fonts-liberation)
command -v brotli >/dev/null || need+=(brotli)
# The email tests make a self-signed certificate for the STARTTLS test.
command -v openssl >/dev/null || need+=(openssl)
command -v npm >/dev/null || need+=(nodejs npm)
# The email tests' IMAP server.
[ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing Debian packages: ${need[*]}. Install them (as root: apt-get install ${need[*]}) and re-run." >&2
    exit 1
  fi
  echo "==> Installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The email tests' SMTP sink: aiosmtpd, a standards-following SMTP server
# from PyPI, in a virtualenv of its own.
if [ ! -x tools/py/bin/python ] || ! tools/py/bin/python -c 'import aiosmtpd' 2>/dev/null; then
  echo "==> Installing aiosmtpd (SMTP sink for the email tests)"
  python3 -m venv tools/py
  tools/py/bin/pip install -q --disable-pip-version-check aiosmtpd==1.4.6
fi

cd end2end
if [ ! -d node_modules/@playwright/test ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> Installing Playwright (no browser download: Debian's Chromium is used)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi
