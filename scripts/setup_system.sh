#!/usr/bin/env bash
# System part of `make setup`/`make test`: Debian packages, the sandbox user and its home, the
# sandbox interpreter (outside any home directory) and the jobs folder. Idempotent: a second run
# changes nothing, and it repairs what it finds broken (a missing or wrongly owned home, a user
# whose home is /nonexistent, a deleted or half-built interpreter). Two runs at once are safe: the
# second waits on a lock; the interpreter is built in a fresh folder and swapped in with one
# rename, so a running app never sees a half-built one.
#
# Names come from the same variables the app reads (README, "Configuration"):
#   PINEOPT_SANDBOX_USER  (pineopt-sandbox)        PINEOPT_SANDBOX_HOME (/var/lib/pineopt-sandbox/<user>)
#   PINEOPT_SANDBOX_VENV  (/opt/pineopt/sandbox-venv) PINEOPT_JOBS_ROOT (/var/lib/pineopt/jobs)
# Needs root; without root it says what is missing and how to get it, and exits 0 so a developer
# can still use PINEOPT_SANDBOX=none (`pineopt doctor` then names every missing piece).
set -euo pipefail
WANT_BROWSER=${1:-}
PKGS=(firejail)
[ "$WANT_BROWSER" = "--test" ] && PKGS+=(chromium poppler-utils)
SANDBOX_USER=${PINEOPT_SANDBOX_USER:-pineopt-sandbox}
SANDBOX_HOME=${PINEOPT_SANDBOX_HOME:-/var/lib/pineopt-sandbox/$SANDBOX_USER}
SANDBOX_VENV=${PINEOPT_SANDBOX_VENV:-/opt/pineopt/sandbox-venv}
JOBS_ROOT=${PINEOPT_JOBS_ROOT:-/var/lib/pineopt/jobs}
here=$(cd "$(dirname "$0")/.." && pwd)
say() { echo "pineopt setup: $*"; }

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

# One setup at a time on this machine: a second `make setup` waits, then finds everything done.
mkdir -p /run/lock
exec 9>/run/lock/pineopt-setup.lock
flock 9

# --- Debian packages ------------------------------------------------------------------------
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} with apt-get"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

# --- the sandbox user and its home ------------------------------------------------------------
case "$SANDBOX_HOME" in
  /|/home|/root|/tmp|/var|/var/lib|/opt|/home/*/*|/root/*)
    echo "pineopt setup: PINEOPT_SANDBOX_HOME=$SANDBOX_HOME is not usable: give a folder of its own, outside any other user's home (e.g. /var/lib/pineopt-sandbox/$SANDBOX_USER)." >&2
    exit 2 ;;
esac
if ! id "$SANDBOX_USER" >/dev/null 2>&1; then
  say "creating the sandbox user $SANDBOX_USER (home $SANDBOX_HOME)"
  # uid >= 1000: firejail refuses system users such as nobody; 1500 when it is free.
  if getent passwd 1500 >/dev/null; then uid_opt=(); else uid_opt=(--uid 1500); fi
  useradd "${uid_opt[@]}" --user-group --no-create-home --home-dir "$SANDBOX_HOME" \
    --shell /usr/sbin/nologin "$SANDBOX_USER"
fi
uid=$(id -u "$SANDBOX_USER")
if [ "$uid" -lt 1000 ]; then
  echo "pineopt setup: the sandbox user $SANDBOX_USER has uid $uid; it must be an unprivileged user with uid >= 1000 (firejail refuses system users, and process limits do not apply to root). Remove it (userdel $SANDBOX_USER) and run 'make setup' again, or set PINEOPT_SANDBOX_USER to another name." >&2
  exit 2
fi
group=$(id -gn "$SANDBOX_USER")
current_home=$(getent passwd "$SANDBOX_USER" | cut -d: -f6)
if [ "$current_home" != "$SANDBOX_HOME" ]; then
  say "repairing: the home of $SANDBOX_USER was $current_home, now $SANDBOX_HOME"
  usermod --home "$SANDBOX_HOME" "$SANDBOX_USER"
fi
# firejail --private mounts an empty tmpfs on this folder: it must exist and be the user's own.
if [ ! -d "$SANDBOX_HOME" ]; then
  say "creating the sandbox home $SANDBOX_HOME"
  mkdir -p "$(dirname "$SANDBOX_HOME")"
  mkdir -m 0700 "$SANDBOX_HOME"
  chown "$SANDBOX_USER:$group" "$SANDBOX_HOME"
fi
if [ "$(stat -c %U:%G "$SANDBOX_HOME")" != "$SANDBOX_USER:$group" ]; then
  say "repairing: $SANDBOX_HOME was owned by $(stat -c %U:%G "$SANDBOX_HOME"), now $SANDBOX_USER:$group"
  chown "$SANDBOX_USER:$group" "$SANDBOX_HOME"
fi
[ "$(stat -c %a "$SANDBOX_HOME")" = 700 ] || chmod 0700 "$SANDBOX_HOME"
if [ -f /etc/firejail/firejail.users ] && ! grep -qx "$SANDBOX_USER" /etc/firejail/firejail.users; then
  echo "$SANDBOX_USER" >> /etc/firejail/firejail.users
fi

# --- the sandbox interpreter --------------------------------------------------------------------
# $SANDBOX_VENV is a symlink to .<name>-<hash of requirements + python>; a new build goes to a
# fresh folder and replaces the link with one rename, so a running app never sees a half venv.
base=/usr/bin/python3.11
[ -x "$base" ] || base=$(command -v python3.11 || command -v python3)
want=$( (cat "$here/requirements-sandbox.txt"; "$base" -VV) | sha256sum | cut -c1-16)
venv_dir=$(dirname "$SANDBOX_VENV")
venv_name=$(basename "$SANDBOX_VENV")
target="$venv_dir/.$venv_name-$want"
mkdir -p "$venv_dir"
chmod a+rx "$venv_dir"
sandbox_ready() {  # the link points at the wanted build and its libraries import
  [ "$(readlink "$SANDBOX_VENV" 2>/dev/null)" = "$target" ] && [ -f "$target/.complete" ] &&
    "$SANDBOX_VENV/bin/python" -I -c "import numpy, pandas, backtesting, RestrictedPython" \
      >/dev/null 2>&1
}
if ! sandbox_ready; then
  if [ ! -f "$target/.complete" ] ||
     ! "$target/bin/python" -I -c "import numpy, pandas, backtesting, RestrictedPython" >/dev/null 2>&1; then
    say "building the sandbox interpreter in $target"
    rm -rf "$venv_dir"/.build-*  # a build that died half-way (builds only run under the lock)
    tmp=$(mktemp -d "$venv_dir/.build-XXXXXX")
    "$base" -m venv --without-pip "$tmp/venv"
    "$here/.venv/bin/pip" --python "$tmp/venv/bin/python" install -q --disable-pip-version-check \
      -r "$here/requirements-sandbox.txt"
    chmod -R a+rX "$tmp/venv"
    touch "$tmp/venv/.complete"
    rm -rf "$target"
    mv -T "$tmp/venv" "$target"
    rmdir "$tmp"
  fi
  if [ -e "$SANDBOX_VENV" ] && [ ! -L "$SANDBOX_VENV" ]; then  # an old real folder: set it aside
    mv -T "$SANDBOX_VENV" "$venv_dir/.$venv_name-old-$$"
  fi
  ln -sfn "$target" "$venv_dir/.$venv_name-link-$$"
  mv -Tf "$venv_dir/.$venv_name-link-$$" "$SANDBOX_VENV"
  say "sandbox interpreter: $SANDBOX_VENV -> $target"
  # keep the build just replaced (a running app may still start children from it); drop older
  kept=0
  for old in $(ls -1dt "$venv_dir/.$venv_name-"* 2>/dev/null); do
    case "$old" in "$target"|*-link-*) continue ;; esac
    kept=$((kept + 1))
    if [ "$kept" -gt 1 ]; then rm -rf "$old"; fi
  done
fi

# --- the jobs root: 0711 root, so the sandbox user cannot list other jobs -----------------------
jobs_parent=$(dirname "$JOBS_ROOT")
[ -d "$jobs_parent" ] || { mkdir -p "$jobs_parent"; chmod 711 "$jobs_parent"; }
mkdir -p "$JOBS_ROOT"
chown root:root "$JOBS_ROOT"
chmod 711 "$JOBS_ROOT"
