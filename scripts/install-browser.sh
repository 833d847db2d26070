#!/usr/bin/env bash
# Installs Debian's Chromium when it is missing: tests/test_browser.py and scripts/serve-preview.py
# drive it headless through Playwright's Python package. (Never `playwright install`: the browser
# comes from Debian's packages, not from a download.)
set -euo pipefail
if command -v chromium >/dev/null; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Chromium from Debian's packages..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
else
  echo "warning: no chromium found and cannot install one (needs root and apt-get); the browser test is skipped" >&2
fi
