#!/usr/bin/env bash
# System part of `make setup`/`make test`: Debian packages, the sandbox user and its home, the
# per-run pool users and theirs, the sandbox interpreter (outside any home directory) and the
# jobs folder with its lease folder. Idempotent: a second run
# changes nothing, and it repairs what it finds broken (a missing or wrongly owned home, a user
# whose home is /nonexistent, a deleted or half-built interpreter). Two runs at once are safe: the
# second waits on a lock; the interpreter is built in a fresh folder and swapped in with one
# rename, so a running app never sees a half-built one.
#
# Names come from the same variables the app reads (README, "Configuration"):
#   PINEOPT_SANDBOX_USER  (pineopt-sandbox)        PINEOPT_SANDBOX_HOME (/var/lib/pineopt-sandbox/<user>)
#   PINEOPT_SANDBOX_VENV  (/opt/pineopt/sandbox-venv) PINEOPT_JOBS_ROOT (/var/lib/pineopt/jobs)
#   PINEOPT_SANDBOX_POOL  (8): per-run users <user>-1 ... <user>-N, homes <home>-1 ... <home>-N
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
SANDBOX_POOL=${PINEOPT_SANDBOX_POOL:-8}
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

# --- the sandbox user, the per-run pool users, and their homes ------------------------------------
case "$SANDBOX_HOME" in
  /|/home|/root|/tmp|/var|/var/lib|/opt|/home/*/*|/root/*)
    echo "pineopt setup: PINEOPT_SANDBOX_HOME=$SANDBOX_HOME is not usable: give a folder of its own, outside any other user's home (e.g. /var/lib/pineopt-sandbox/$SANDBOX_USER)." >&2
    exit 2 ;;
esac
case "$SANDBOX_POOL" in
  ''|*[!0-9]*) echo "pineopt setup: PINEOPT_SANDBOX_POOL=$SANDBOX_POOL is not a whole number; unset it or give e.g. 8." >&2; exit 2 ;;
esac
# ensure_user NAME HOME [UID]: an unprivileged user with a private home of its own (0700, its
# own), created or repaired; firejail --private mounts an empty tmpfs on that home.
ensure_user() {
  local name=$1 home=$2 want_uid=${3:-} uid group current_home
  if ! id "$name" >/dev/null 2>&1; then
    say "creating the sandbox user $name (home $home)"
    # uid >= 1000: firejail refuses system users such as nobody.
    local uid_opt=()
    if [ -n "$want_uid" ] && ! getent passwd "$want_uid" >/dev/null; then uid_opt=(--uid "$want_uid"); fi
    useradd "${uid_opt[@]}" --user-group --no-create-home --home-dir "$home" \
      --shell /usr/sbin/nologin "$name"
  fi
  uid=$(id -u "$name")
  if [ "$uid" -lt 1000 ]; then
    echo "pineopt setup: the sandbox user $name has uid $uid; it must be an unprivileged user with uid >= 1000 (firejail refuses system users, and process limits do not apply to root). Remove it (userdel $name) and run 'make setup' again, or set PINEOPT_SANDBOX_USER to another name." >&2
    exit 2
  fi
  group=$(id -gn "$name")
  current_home=$(getent passwd "$name" | cut -d: -f6)
  if [ "$current_home" != "$home" ]; then
    say "repairing: the home of $name was $current_home, now $home"
    usermod --home "$home" "$name"
  fi
  if [ ! -d "$home" ]; then
    say "creating the sandbox home $home"
    mkdir -p "$(dirname "$home")"
    mkdir -m 0700 "$home"
    chown "$name:$group" "$home"
  fi
  if [ "$(stat -c %U:%G "$home")" != "$name:$group" ]; then
    say "repairing: $home was owned by $(stat -c %U:%G "$home"), now $name:$group"
    chown "$name:$group" "$home"
  fi
  [ "$(stat -c %a "$home")" = 700 ] || chmod 0700 "$home"
  if [ -f /etc/firejail/firejail.users ] && ! grep -qx "$name" /etc/firejail/firejail.users; then
    echo "$name" >> /etc/firejail/firejail.users
  fi
}
ensure_user "$SANDBOX_USER" "$SANDBOX_HOME" 1500  # 1500 when it is free
# The per-run users (sandbox/userpool.py): where the host has no per-run control groups, each
# run leases one of them, so process limits and file ownership are per run. Same rules as above.
for i in $(seq 1 "$SANDBOX_POOL"); do
  ensure_user "$SANDBOX_USER-$i" "$SANDBOX_HOME-$i"
done

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
# per-run user leases (sandbox/userpool.py): root only, like the jobs root
mkdir -p "$JOBS_ROOT/.leases"
chown root:root "$JOBS_ROOT/.leases"
chmod 700 "$JOBS_ROOT/.leases"
