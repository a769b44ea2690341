#!/usr/bin/env bash
# Makes sure Debian's headless-capable Chromium and its driver are installed (the console's browser
# tests drive them with Selenium), installing them with apt once per machine, and prints the
# driver's path. Needs root (or password-less sudo) the first time only.
set -euo pipefail
DRIVER=/usr/bin/chromedriver
BROWSER=/usr/lib/chromium/chromium
if [ ! -x "$DRIVER" ] || [ ! -x "$BROWSER" ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=(); elif sudo -n true 2>/dev/null; then SUDO=(sudo -n); else
    echo "[chromium] not installed, and installing needs root: apt-get install chromium chromium-driver" >&2
    exit 1
  fi
  echo "[chromium] installing chromium and chromium-driver from Debian (about 120 MB, once)" >&2
  "${SUDO[@]}" apt-get -qq update >&2
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq chromium chromium-driver >&2
fi
echo "$DRIVER"
