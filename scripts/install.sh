#!/usr/bin/env bash
# Installs aeon as a systemd service: on the running board, or (--root DIR)
# into a mounted SD-card root filesystem that starts aeon on first boot.
# Idempotent: a second run changes nothing unless an input changed. Never
# overwrites /etc/aeon/aeon.json or /etc/aeon/env. See docs/device.md.
set -euo pipefail

PROG=${0##*/}
usage() {
  cat <<EOF
usage: $PROG [options] [BINARY]

Installs BINARY (default ./aeon-<board>) as /usr/local/bin/aeon, the systemd
unit, a starter /etc/aeon/aeon.json and /etc/aeon/env (never overwritten),
and the 'aeon' system user; then enables and starts the service.

  --board NAME         board profile: pi-zero-2w, pi-3b, pi-4, pi-5, x64
                       (default: from the binary name aeon-<board>)
  --root DIR           install into a mounted root filesystem (SD card) instead
                       of this system: no systemctl, the unit is enabled by a
                       symlink and starts on first boot
  --memory-max MB      MemoryMax for the unit (default: the board's memory_max_mb)
  --memory-high MB     MemoryHigh (default: 85% of MemoryMax)
  --no-start           enable but do not start (running system only)
  --uninstall          remove binary, unit and user declaration; keep
                       /var/lib/aeon (data), /etc/aeon/aeon.json and /etc/aeon/env
  -h, --help           this text
EOF
}
die() { echo "$PROG: $1" >&2; exit "${2:-1}"; }
bad_usage() { echo "$PROG: $1" >&2; usage >&2; exit 64; }
say() { echo "$PROG: $*"; }

BOARD=""
ROOT=""
ROOT_GIVEN=0
BINARY=""
MEM_MAX=""
MEM_HIGH=""
START=1
UNINSTALL=0

while [ $# -gt 0 ]; do
  case "$1" in
    --board) [ $# -ge 2 ] || bad_usage "--board needs a value"; BOARD=$2; shift 2 ;;
    --board=*) BOARD=${1#*=}; shift ;;
    --root) [ $# -ge 2 ] || bad_usage "--root needs a directory"; ROOT=$2; ROOT_GIVEN=1; shift 2 ;;
    --root=*) ROOT=${1#*=}; ROOT_GIVEN=1; shift ;;
    --memory-max) [ $# -ge 2 ] || bad_usage "--memory-max needs a value in MB"; MEM_MAX=$2; shift 2 ;;
    --memory-max=*) MEM_MAX=${1#*=}; shift ;;
    --memory-high) [ $# -ge 2 ] || bad_usage "--memory-high needs a value in MB"; MEM_HIGH=$2; shift 2 ;;
    --memory-high=*) MEM_HIGH=${1#*=}; shift ;;
    --no-start) START=0; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    -*) bad_usage "unknown option: $1" ;;
    *) [ -z "$BINARY" ] || bad_usage "only one BINARY may be given (got '$BINARY' and '$1')"; BINARY=$1; shift ;;
  esac
done
if [ $# -gt 0 ]; then
  if [ -z "$BINARY" ] && [ $# -eq 1 ]; then BINARY=$1; else bad_usage "too many arguments"; fi
fi

for n in "$MEM_MAX" "$MEM_HIGH"; do
  [ -z "$n" ] || [[ "$n" =~ ^[1-9][0-9]*$ ]] || bad_usage "memory sizes are whole megabytes, got '$n'"
done
if [ "$ROOT_GIVEN" = 1 ]; then
  [ -n "$ROOT" ] || bad_usage "--root needs a directory"
  [ -d "$ROOT" ] || die "--root $ROOT is not a directory" 66
  ROOT=$(cd "$ROOT" && pwd)
  [ "$ROOT" != / ] || ROOT=""
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Files come from the repository (scripts/../) or from a release folder (next to this script).
find_src() {
  local c
  for c in "$@"; do
    if [ -f "$c" ]; then echo "$c"; return 0; fi
  done
  return 1
}

UNIT_DST="$ROOT/etc/systemd/system/aeon.service"
WANTS_DIR="$ROOT/etc/systemd/system/multi-user.target.wants"
BIN_DST="$ROOT/usr/local/bin/aeon"
SYSUSERS_DST="$ROOT/usr/lib/sysusers.d/aeon.conf"
DOC_DST="$ROOT/usr/local/share/doc/aeon/device.md"
CONF_DIR="$ROOT/etc/aeon"
SYSUSERS_LINE='u aeon - "aeon agent runtime" /var/lib/aeon /usr/sbin/nologin'

offline() { [ "$ROOT_GIVEN" = 1 ]; }
if ! offline && [ "$(id -u)" -ne 0 ]; then die "installing on this system needs root (sudo $PROG ...), or use --root DIR" 77; fi

# --- uninstall --------------------------------------------------------------
if [ "$UNINSTALL" = 1 ]; then
  if ! offline && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now aeon.service 2>/dev/null || true
  fi
  rm -f "$WANTS_DIR/aeon.service" "$UNIT_DST" "$BIN_DST" "$SYSUSERS_DST" "$DOC_DST"
  rmdir "$ROOT/usr/local/share/doc/aeon" 2>/dev/null || true
  if ! offline && command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload || true; fi
  say "removed aeon; kept /var/lib/aeon (data), $CONF_DIR/aeon.json and $CONF_DIR/env, and the aeon user (it owns the data)"
  exit 0
fi

# --- inputs -------------------------------------------------------------------
if [ -z "$BOARD" ] && [ -n "$BINARY" ]; then
  base=${BINARY##*/}
  case "$base" in aeon-*) BOARD=${base#aeon-} ;; esac
fi
[ -n "$BOARD" ] || bad_usage "which board? give --board NAME or a binary named aeon-<board>"
[[ "$BOARD" =~ ^[a-z0-9-]+$ ]] || bad_usage "board names are lowercase letters, digits and -, got '$BOARD'"
[ -n "$BINARY" ] || BINARY="./aeon-$BOARD"
[ -f "$BINARY" ] || die "binary $BINARY not found (build it with 'npm run build', or pass its path)" 66

BOARD_JSON=$(find_src "$HERE/../boards/$BOARD.json" "$HERE/boards/$BOARD.json") || die "no board profile '$BOARD' (looked for boards/$BOARD.json)" 66
UNIT_SRC=$(find_src "$HERE/../systemd/aeon.service" "$HERE/systemd/aeon.service" "$HERE/aeon.service") || die "systemd/aeon.service not found next to this script" 66
CONF_SRC=$(find_src "$HERE/../aeon.json" "$HERE/aeon.json") || die "aeon.json template not found next to this script" 66
DOC_SRC=$(find_src "$HERE/../docs/device.md" "$HERE/docs/device.md" "$HERE/device.md") || DOC_SRC=""

if [ -z "$MEM_MAX" ]; then
  MEM_MAX=$(sed -n 's/.*"memory_max_mb"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$BOARD_JSON" | head -n 1)
  [ -n "$MEM_MAX" ] || die "$BOARD_JSON has no budget.memory_max_mb" 65
fi
[ -n "$MEM_HIGH" ] || MEM_HIGH=$((MEM_MAX * 85 / 100))
[ "$MEM_HIGH" -le "$MEM_MAX" ] || bad_usage "--memory-high ($MEM_HIGH) must not exceed MemoryMax ($MEM_MAX)"

CHANGED=0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# put SRC DST MODE: install only when content or mode differs.
put() {
  local src=$1 dst=$2 mode=$3
  if [ -f "$dst" ] && cmp -s "$src" "$dst" && [ "$(stat -c %a "$dst")" = "${mode#0}" ]; then return 0; fi
  install -D -m "$mode" "$src" "$dst"
  CHANGED=1
  say "wrote ${dst#"$ROOT"}"
}

# --- binary, unit, docs ---------------------------------------------------------
put "$BINARY" "$BIN_DST" 0755

sed -e "s/^MemoryMax=.*/MemoryMax=${MEM_MAX}M/" \
    -e "s/^MemoryHigh=.*/MemoryHigh=${MEM_HIGH}M/" \
    -e "s/^Environment=AEON_BOARD=.*/Environment=AEON_BOARD=$BOARD/" \
    -e "s/^# Board: [a-z0-9-]*\./# Board: $BOARD./" \
    "$UNIT_SRC" > "$TMP/aeon.service"
grep -q "^MemoryMax=${MEM_MAX}M$" "$TMP/aeon.service" || die "could not set MemoryMax in the unit"
put "$TMP/aeon.service" "$UNIT_DST" 0644
[ -z "$DOC_SRC" ] || put "$DOC_SRC" "$DOC_DST" 0644

# --- config and secrets (never overwritten) ------------------------------------------
install -d -m 0755 "$CONF_DIR"
if [ ! -e "$CONF_DIR/aeon.json" ]; then
  install -m 0644 "$CONF_SRC" "$CONF_DIR/aeon.json"
  CHANGED=1
  say "wrote ${CONF_DIR#"$ROOT"}/aeon.json (edit it: agents, dialogs)"
fi
if [ ! -e "$CONF_DIR/env" ]; then
  (
    umask 077
    cat > "$CONF_DIR/env" <<'EOF'
# aeon secrets: one VAR=value per line, read by systemd (EnvironmentFile=).
# Refer to them in /etc/aeon/aeon.json as "${VAR}". Keep this file mode 0600.
#AEON_LLM_BASE_URL=http://127.0.0.1:11434/v1
#AEON_LLM_API_KEY=
#AEON_MODEL=llama3.2
#OPENAI_API_KEY=
#ANTHROPIC_API_KEY=
#TELEGRAM_BOT_TOKEN=
#MQTT_PASSWORD=
EOF
  )
  chmod 0600 "$CONF_DIR/env"
  CHANGED=1
  say "wrote ${CONF_DIR#"$ROOT"}/env (mode 0600: put API keys and tokens here)"
fi

# --- the aeon system user ------------------------------------------------------------
printf '%s\n' "$SYSUSERS_LINE" > "$TMP/aeon.conf"
put "$TMP/aeon.conf" "$SYSUSERS_DST" 0644

has_user() {
  if offline; then grep -q '^aeon:' "$ROOT/etc/passwd" 2>/dev/null; else getent passwd aeon >/dev/null; fi
}
# Offline fallback when the host has no systemd-sysusers: append to passwd,
# group, shadow (and gshadow) with the first free system id, keeping each file's mode.
add_user_by_hand() {
  local etc="$ROOT/etc" id f
  for f in passwd group; do [ -f "$etc/$f" ] || die "$etc/$f missing: is $ROOT a root filesystem?" 66; done
  for id in $(seq 999 -1 100); do
    if ! cut -d: -f3 "$etc/passwd" | grep -qx "$id" && ! cut -d: -f3 "$etc/group" | grep -qx "$id"; then break; fi
  done
  append() { # FILE LINE
    [ -f "$1" ] || return 0
    cp -p "$1" "$1.aeon-tmp"
    printf '%s\n' "$2" >> "$1.aeon-tmp"
    mv "$1.aeon-tmp" "$1"
  }
  grep -q '^aeon:' "$etc/group" || append "$etc/group" "aeon:x:$id:"
  append "$etc/gshadow" "aeon:!::"
  append "$etc/passwd" "aeon:x:$id:$id:aeon agent runtime:/var/lib/aeon:/usr/sbin/nologin"
  append "$etc/shadow" "aeon:!*:$(( $(date +%s) / 86400 ))::::::"
}

if ! has_user; then
  if command -v systemd-sysusers >/dev/null 2>&1 && [ "${AEON_INSTALL_NO_SYSUSERS:-0}" != 1 ]; then
    # Writes passwd/group/shadow safely (locking, free id, modes), also into --root.
    if offline; then systemd-sysusers --root="$ROOT" "$SYSUSERS_DST"; else systemd-sysusers "$SYSUSERS_DST"; fi
  elif offline; then
    add_user_by_hand
  elif command -v useradd >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/aeon --no-create-home --shell /usr/sbin/nologin --comment "aeon agent runtime" aeon
  else
    die "cannot create the aeon user: neither systemd-sysusers nor useradd is available"
  fi
  has_user || die "the aeon user was not created"
  CHANGED=1
  say "created the aeon system user"
fi

# --- enable (and start) ----------------------------------------------------------
if offline; then
  # What `systemctl enable` does, by hand: the [Install] WantedBy symlink.
  if [ "$(readlink "$WANTS_DIR/aeon.service" 2>/dev/null)" != /etc/systemd/system/aeon.service ]; then
    install -d -m 0755 "$WANTS_DIR"
    ln -sfn /etc/systemd/system/aeon.service "$WANTS_DIR/aeon.service"
    CHANGED=1
    say "enabled aeon.service (starts on first boot)"
  fi
  say "done: ${ROOT:-/} is provisioned for board $BOARD (MemoryMax=${MEM_MAX}M)"
  exit 0
fi

command -v systemctl >/dev/null 2>&1 || die "systemctl not found: is this a systemd system? (use --root DIR to provision a filesystem)"
systemctl daemon-reload
if [ "$START" = 1 ]; then
  systemctl enable --now aeon.service
  # A new binary or unit takes effect only after a restart.
  if [ "$CHANGED" = 1 ]; then systemctl try-restart aeon.service; fi
  say "aeon is running: journalctl -u aeon -f    status: systemctl status aeon"
else
  systemctl enable aeon.service
  say "aeon is enabled; start it with: systemctl start aeon"
fi
