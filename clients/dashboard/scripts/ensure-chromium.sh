#!/usr/bin/env bash
# The dashboard's browser tests drive Chromium through playwright-core (1.64.x, which matches
# Debian's chromium 156). Playwright cannot download its own browser here, so the system's is
# used: /usr/bin/chromium, or $CHROMIUM_PATH. Missing on Debian/Ubuntu: installed with apt-get
# (as root, or with sudo). Elsewhere: a clear message and a failure.
set -euo pipefail
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$chromium" ]; then
  exit 0
fi
if [ -n "${CHROMIUM_PATH:-}" ]; then
  echo "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable: point it at a Chromium (version 156 matches playwright-core 1.64)." >&2
  exit 1
fi
if [ -r /etc/os-release ] && grep -qiE '^(ID|ID_LIKE)=.*(debian|ubuntu)' /etc/os-release && command -v apt-get >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "The dashboard's browser tests need Chromium at $chromium. Install it as root: apt-get install -y --no-install-recommends chromium" >&2
    exit 1
  fi
  echo "Installing Chromium for the dashboard's browser tests (apt-get install chromium)…" >&2
  "${sudo[@]}" apt-get update -qq >&2
  # Debian names the package chromium; Ubuntu's chromium-browser is a snap wrapper, its chromium a deb on some releases.
  if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium >&2; then
    echo "apt-get could not install chromium. Install a Chromium (156 matches playwright-core 1.64) and set CHROMIUM_PATH." >&2
    exit 1
  fi
  if [ -x "$chromium" ]; then
    "$chromium" --version 2>/dev/null >&2 || true
    exit 0
  fi
  echo "chromium was installed but $chromium does not exist: set CHROMIUM_PATH to its executable." >&2
  exit 1
fi
echo "The dashboard's browser tests need Chromium (156 matches playwright-core 1.64) at $chromium, or CHROMIUM_PATH=/path/to/chromium." >&2
echo "This is not Debian or Ubuntu, so make test does not install it: install Chromium, then run make test again." >&2
exit 1
