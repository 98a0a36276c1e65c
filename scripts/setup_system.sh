#!/usr/bin/env bash
# System part of `make setup`/`make test`: Debian packages, the sandbox user, the sandbox
# interpreter (outside any home directory) and the jobs folder. Needs root; without root it says
# what is missing and how to get it, and exits 0 so a developer can still use PINEOPT_SANDBOX=none.
set -euo pipefail
WANT_BROWSER=${1:-}
PKGS=(firejail)
[ "$WANT_BROWSER" = "--test" ] && PKGS+=(chromium poppler-utils)
SANDBOX_USER=${PINEOPT_SANDBOX_USER:-pineopt-sandbox}
SANDBOX_VENV=/opt/pineopt/sandbox-venv
JOBS_ROOT=${PINEOPT_JOBS_ROOT:-/var/lib/pineopt/jobs}
here=$(cd "$(dirname "$0")/.." && pwd)

missing=()
for p in "${PKGS[@]}"; do
  bin=$p; [ "$p" = poppler-utils ] && bin=pdftoppm
  command -v "$bin" >/dev/null 2>&1 || missing+=("$p")
done

if [ "$(id -u)" != 0 ]; then
  [ ${#missing[@]} -gt 0 ] && echo "pineopt: missing Debian packages: ${missing[*]}. Install them as root: sudo apt-get install -y ${missing[*]}" >&2
  [ -x "$SANDBOX_VENV/bin/python" ] || echo "pineopt: no sandbox interpreter at $SANDBOX_VENV; run 'sudo make setup' once, or set PINEOPT_SANDBOX=none for local development only." >&2
  exit 0
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "pineopt: installing ${missing[*]} with apt-get"
  if ! apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

if ! id "$SANDBOX_USER" >/dev/null 2>&1; then
  useradd --uid 1500 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$SANDBOX_USER" 2>/dev/null \
    || useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$SANDBOX_USER"
fi
if [ -f /etc/firejail/firejail.users ] && ! grep -qx "$SANDBOX_USER" /etc/firejail/firejail.users; then
  echo "$SANDBOX_USER" >> /etc/firejail/firejail.users
fi

stamp="$SANDBOX_VENV/.requirements.sha256"
want=$(sha256sum "$here/requirements-sandbox.txt" | cut -d' ' -f1)
if [ ! -x "$SANDBOX_VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "pineopt: building the sandbox interpreter in $SANDBOX_VENV"
  base=/usr/bin/python3.11
  [ -x "$base" ] || base=$(command -v python3.11 || command -v python3)
  rm -rf "$SANDBOX_VENV"
  mkdir -p "$(dirname "$SANDBOX_VENV")"
  "$base" -m venv --without-pip "$SANDBOX_VENV"
  "$here/.venv/bin/pip" --python "$SANDBOX_VENV/bin/python" install -q --disable-pip-version-check \
    -r "$here/requirements-sandbox.txt"
  chmod -R a+rX "$(dirname "$SANDBOX_VENV")"
  echo "$want" > "$stamp"
fi

mkdir -p "$JOBS_ROOT"
chmod 711 "$(dirname "$JOBS_ROOT")" "$JOBS_ROOT"
