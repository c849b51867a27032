#!/usr/bin/env bash
# A real systemd service manager (`systemd --user`, as root) with its own D-Bus bus and journald, for tests.
#
#   systemd.sh start BASE SLICE [DOCKER_HOST]   start (or keep) it; wait for SystemState running|degraded
#   systemd.sh stop BASE SLICE                  stop it by PID, remove its cgroups and BASE
#
# systemd refuses to run unless /run/systemd/system exists, so it runs in a private mount namespace where
# /run/systemd, /run/log, /var/log/journal and /dev/console are bind mounts of dirs in BASE: nothing is
# mounted on the host, and the mounts vanish with the namespace. Its sockets live in BASE/runtime (plain
# dirs, reachable from the host). The manager and journald live in cgroups SLICE/… in every hierarchy,
# so several instances run side by side with distinct BASE and SLICE.
# DOCKER_HOST, when given, becomes a DefaultEnvironment= of the manager: every unit can run `docker`
# against the test engine without saying so.
# BASE/part.env holds the settings for the test helpers.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

cmd=${1:-}; BASE=${2:-}; SLICE=${3:-}; UNIT_DOCKER_HOST=${4:-}
[ -n "$cmd" ] && [ -n "$BASE" ] && [ -n "$SLICE" ] || { echo "usage: systemd.sh start|stop BASE SLICE [DOCKER_HOST]" >&2; exit 2; }
check_dir "$BASE"
case "$SLICE" in *[!A-Za-z0-9_.-]*|.*) echo "systemd.sh: bad SLICE '$SLICE'" >&2; exit 2 ;; esac
log() { echo "[systemd] $*" >&2; }
RUNTIME=$BASE/runtime
CONF=$BASE/config
UNITDIR=$CONF/systemd/user
JDIR=$BASE/run-log/journal/$(cat /etc/machine-id 2>/dev/null || true)
mpid() { cat "$BASE/manager.pid" 2>/dev/null || true; }
state() {
  DBUS_SESSION_BUS_ADDRESS=unix:path=$RUNTIME/bus timeout 5 busctl --user get-property org.freedesktop.systemd1 \
    /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager SystemState 2>/dev/null | awk '{gsub(/"/,"",$2); print $2}'
}

stop() {
  local m j p
  m=$(mpid); j=$(cat "$BASE/journald.pid" 2>/dev/null || true)
  if alive "$m"; then
    # the manager stops every unit (its dbus-daemon too) on SIGTERM, then exits
    kill -TERM "$m" 2>/dev/null || true
    wait_gone "$m" 15 || { log "manager $m did not exit in 15 s, SIGKILL"; kill -KILL "$m" 2>/dev/null; wait_gone "$m" 5 || true; }
  fi
  # what is left can only be ours: units of a killed manager (in our slice), journald, the launcher
  p=$( { cgroup_pids "$SLICE"; owned_pids "$BASE"; } | sort -u | grep -vx "${j:-x}" || true)
  [ -n "$p" ] && { log "killing leftover pids" $p; kill_pids KILL $p; }
  if alive "$j"; then kill -TERM "$j" 2>/dev/null; wait_gone "$j" 5 || kill_pids KILL "$j"; fi
  remove_cgroups "$SLICE"
  rm -rf "$BASE"
}

start() {
  local t0 st h hier=()
  if alive "$(mpid)" && st=$(state) && [[ $st == running || $st == degraded ]]; then
    log "already running (manager pid $(mpid), $st)"; return 0
  fi
  [ "$(id -u)" = 0 ] || { log "must run as root"; exit 1; }
  [ -x /lib/systemd/systemd ] || { log "/lib/systemd/systemd missing (apt-get install systemd)"; exit 1; }
  command -v dbus-daemon >/dev/null || { log "dbus-daemon missing (apt-get install dbus-daemon)"; exit 1; }
  [ -s /etc/machine-id ] || systemd-machine-id-setup >/dev/null 2>&1 || { log "/etc/machine-id missing"; exit 1; }
  JDIR=$BASE/run-log/journal/$(cat /etc/machine-id)
  if [ -e "$BASE" ]; then stop; fi   # leftovers of a crashed instance
  mkdir -p /run/systemd /run/log   # bind-mount targets only; they stay empty on the host
  t0=$(ms)

  mkdir -p "$BASE"/{run-systemd/system,run-systemd/journald.conf.d,run-systemd/user.conf.d,run-log,var-log-journal} \
           "$BASE"/{home,data,state,cache} "$RUNTIME" "$UNITDIR/default.target.wants"
  chmod 700 "$BASE" "$RUNTIME"
  : > "$BASE/console.log"
  # root's user units land in system.journal of a volatile journal: read it with journalctl -D
  cat > "$BASE/run-systemd/journald.conf.d/50-test.conf" <<'EOF'
[Journal]
Storage=volatile
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
RateLimitBurst=0
EOF
  {
    echo '[Manager]'
    echo 'DefaultTimeoutStopSec=10s'
    echo 'DefaultTimeoutStartSec=30s'
    [ -n "$UNIT_DOCKER_HOST" ] && echo "DefaultEnvironment=\"DOCKER_HOST=$UNIT_DOCKER_HOST\""
  } > "$BASE/run-systemd/user.conf.d/50-test.conf"
  # the bus is the manager's own (a hand-started dbus-daemon never gets org.freedesktop.systemd1)
  cat > "$UNITDIR/dbus.socket" <<'EOF'
[Unit]
Description=D-Bus User Message Bus Socket
[Socket]
ListenStream=%t/bus
EOF
  cat > "$UNITDIR/dbus.service" <<'EOF'
[Unit]
Description=D-Bus User Message Bus
Requires=dbus.socket
[Service]
Type=notify
NotifyAccess=main
ExecStart=/usr/bin/dbus-daemon --session --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only
EOF
  ln -s ../dbus.service "$UNITDIR/default.target.wants/dbus.service"
  # units that distro packages enable for every user session are noise here: mask them
  for d in /usr/lib/systemd/user /usr/local/lib/systemd/user /etc/systemd/user /etc/xdg/systemd/user; do
    for w in "$d"/sockets.target.wants/* "$d"/default.target.wants/* "$d"/timers.target.wants/*; do
      [ -e "$w" ] || [ -L "$w" ] || continue
      n=$(basename "$w")
      case "$n" in dbus.socket|dbus.service) continue ;; esac
      [ -e "$UNITDIR/$n" ] || ln -s /dev/null "$UNITDIR/$n"
    done
  done

  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then hier=(/sys/fs/cgroup)
  else
    [ -f /sys/fs/cgroup/systemd/cgroup.procs ] && hier+=(/sys/fs/cgroup/systemd)
    [ -f /sys/fs/cgroup/unified/cgroup.procs ] && hier+=(/sys/fs/cgroup/unified)
  fi
  [ ${#hier[@]} -gt 0 ] || { log "no usable cgroup hierarchy under /sys/fs/cgroup"; exit 1; }
  for h in "${hier[@]}"; do
    if [ -e "$h/$SLICE" ]; then
      [ -z "$(find "$h/$SLICE" -name cgroup.procs -exec cat {} + 2>/dev/null)" ] || { log "cgroup $h/$SLICE is in use"; exit 1; }
      find "$h/$SLICE" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    fi
    mkdir -p "$h/$SLICE/user@0.service" "$h/$SLICE/journald.service"
  done

  export BASE SLICE RUNTIME CONF HIER="${hier[*]}"
  # shellcheck disable=SC2016
  local inner='
set -e
mount --bind "$BASE/run-systemd" /run/systemd
mount --bind "$BASE/run-log" /run/log
[ -d /var/log/journal ] && mount --bind "$BASE/var-log-journal" /var/log/journal
[ -e /dev/console ] && mount --bind "$BASE/console.log" /dev/console
( for h in $HIER; do echo $BASHPID > "$h/$SLICE/journald.service/cgroup.procs"; done
  exec /lib/systemd/systemd-journald ) </dev/null >>"$BASE/journald.log" 2>&1 &
echo $! > "$BASE/journald.pid"
for i in $(seq 200); do [ -S /run/systemd/journal/stdout ] && [ -S /run/systemd/journal/socket ] && break; sleep 0.02; done
for h in $HIER; do echo $$ > "$h/$SLICE/user@0.service/cgroup.procs"; done
echo $$ > "$BASE/manager.pid"
exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  FLEETKIT_TEST_OWNER="$BASE" HOME="$BASE/home" USER=root LOGNAME=root SHELL=/bin/bash \
  XDG_RUNTIME_DIR="$RUNTIME" XDG_CONFIG_HOME="$CONF" XDG_DATA_HOME="$BASE/data" \
  XDG_STATE_HOME="$BASE/state" XDG_CACHE_HOME="$BASE/cache" \
  /lib/systemd/systemd --user --log-target=journal --log-level=info
'
  # own session, re-parented away from the caller; FLEETKIT_TEST_OWNER marks journald and the launcher
  ( FLEETKIT_TEST_OWNER=$BASE setsid unshare --mount --propagation private -- /bin/bash -c "$inner" \
      </dev/null >>"$BASE/manager.log" 2>&1 & )

  local deadline=$(( $(ms) + 30000 ))
  st=""
  while :; do
    if [ -s "$BASE/manager.pid" ] && ! alive "$(mpid)"; then
      log "systemd --user exited during start-up:"; cat "$BASE/manager.log" "$BASE/journald.log" >&2 || true
      stop; exit 1
    fi
    if [ -S "$RUNTIME/bus" ]; then
      st=$(state || true)
      [[ $st == running || $st == degraded ]] && break
    fi
    [ "$(ms)" -lt "$deadline" ] || { log "not ready after 30 s (state '$st')"; cat "$BASE/manager.log" >&2 || true; stop; exit 1; }
    sleep 0.02
  done
  log "manager pid $(mpid) ready ($st) in $(( $(ms) - t0 )) ms"
}

case "$cmd" in
  start)
    start || exit 1
    [ -s "$BASE/part.env" ] || cat > "$BASE/part.env" <<EOF
SYSTEMD_BUS=unix:path=$RUNTIME/bus
SYSTEMD_RUNTIME=$RUNTIME
SYSTEMD_UNIT_DIR=$UNITDIR
SYSTEMD_JOURNAL_DIR=$JDIR
SYSTEMD_MANAGER_PID=$(mpid)
SYSTEMD_JOURNALD_PID=$(cat "$BASE/journald.pid" 2>/dev/null || true)
SYSTEMD_SLICE=$SLICE
SYSTEMD_DOCKER_HOST=$UNIT_DOCKER_HOST
EOF
    echo "unix:path=$RUNTIME/bus" ;;
  stop)
    t0=$(ms); stop; log "stopped in $(( $(ms) - t0 )) ms" ;;
  *) echo "usage: systemd.sh start|stop BASE SLICE [DOCKER_HOST]" >&2; exit 2 ;;
esac
