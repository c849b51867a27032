#!/usr/bin/env bash
# etcd 3.4 on loopback for tests.
#
#   etcd.sh start DIR [CLIENT_PORT:PEER_PORT]   start (or keep) etcd with data in DIR/data; wait for /health
#   etcd.sh kill DIR [SIGNAL]                   signal etcd (TERM by default) and wait for it to exit; keeps
#                                               DIR so a later start reuses the data and the ports
#   etcd.sh stop DIR                            stop it and remove DIR (data included)
#
# Without ports, two free ports below the kernel's ephemeral range are picked; a busy port makes etcd
# exit at once, so start retries with others. The ports chosen are kept in DIR/ports for restarts.
# DIR/part.env holds the settings for the test helpers (ETCD_URL=…).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

cmd=${1:-}; DIR=${2:-}
[ -n "$cmd" ] && [ -n "$DIR" ] || { echo "usage: etcd.sh start|stop|kill DIR [PORTS|SIGNAL]" >&2; exit 2; }
check_dir "$DIR"
PIDFILE=$DIR/etcd.pid
log() { echo "[etcd] $*" >&2; }
health() { curl -fs --max-time 1 "http://127.0.0.1:$1/health" 2>/dev/null | grep -q '"health":"true"'; }
pid() { cat "$PIDFILE" 2>/dev/null || true; }

# A port is taken when anything listens on it (any address).
port_busy() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
pick_port() {
  local p
  for _ in $(seq 50); do
    p=$(( 10000 + (RANDOM * 32768 + RANDOM) % 22000 ))
    port_busy "$p" || { echo "$p"; return; }
  done
  log "no free port found"; exit 1
}

launch() { # client peer -> 0 ready, 1 died (port race), exits on timeout
  local c=$1 p=$2 i
  echo "$c:$p" > "$DIR/ports"
  FLEETKIT_TEST_OWNER=$DIR setsid etcd --name fk --data-dir "$DIR/data" \
    --listen-client-urls "http://127.0.0.1:$c" --advertise-client-urls "http://127.0.0.1:$c" \
    --listen-peer-urls "http://127.0.0.1:$p" --initial-advertise-peer-urls "http://127.0.0.1:$p" \
    --initial-cluster "fk=http://127.0.0.1:$p" --initial-cluster-state new \
    --heartbeat-interval=10 --election-timeout=100 --enable-v2=true \
    </dev/null >>"$DIR/etcd.log" 2>&1 &
  echo $! > "$PIDFILE"
  for i in $(seq 1500); do
    health "$c" && return 0
    alive "$(pid)" || return 1
    sleep 0.01
  done
  log "not ready after 15 s:"; tail -20 "$DIR/etcd.log" >&2; exit 1
}

start() {
  local ports=${3:-} c p t0
  mkdir -p "$DIR"; chmod 700 "$DIR"
  [ -n "$ports" ] || ports=$(cat "$DIR/ports" 2>/dev/null || true)
  if alive "$(pid)" && [ -n "$ports" ] && health "${ports%%:*}"; then
    log "already running (pid $(pid)) on ${ports%%:*}"
  else
    # a crashed instance may have left children or a half-dead process: end them first
    kill_pids KILL $(owned_pids "$DIR")
    t0=$(ms)
    if [ -n "$ports" ]; then
      launch "${ports%%:*}" "${ports##*:}" || { log "etcd exited:"; tail -20 "$DIR/etcd.log" >&2; exit 1; }
    else
      for attempt in 1 2 3 4 5; do
        c=$(pick_port); p=$(pick_port)
        [ "$c" != "$p" ] || continue
        launch "$c" "$p" && break
        grep -q 'address already in use' "$DIR/etcd.log" || { tail -20 "$DIR/etcd.log" >&2; exit 1; }
        [ "$attempt" = 5 ] && { log "no free ports after 5 attempts"; exit 1; }
      done
    fi
    ports=$(cat "$DIR/ports")
    log "pid $(pid) ready on 127.0.0.1:${ports%%:*} in $(( $(ms) - t0 )) ms"
  fi
  printf 'ETCD_URL=http://127.0.0.1:%s\nETCD_PID=%s\nETCD_DATA=%s\n' "${ports%%:*}" "$(pid)" "$DIR/data" > "$DIR/part.env"
  echo "http://127.0.0.1:${ports%%:*}"
}

signal() { # SIGNAL: stop the process by PID, keep the data
  local sig=${1:-TERM} p; p=$(pid)
  sig=${sig#SIG}
  if alive "$p"; then
    kill "-$sig" "$p" 2>/dev/null || true
    wait_gone "$p" 10 || { log "pid $p ignored SIG$sig for 10 s, SIGKILL"; kill -KILL "$p"; wait_gone "$p" 5 || true; }
  fi
  kill_pids KILL $(owned_pids "$DIR")
}

case "$cmd" in
  start) start "$@" ;;
  kill) signal "${3:-TERM}" ;;
  stop)
    t0=$(ms)
    signal TERM
    rm -rf "$DIR"
    log "stopped in $(( $(ms) - t0 )) ms" ;;
  *) echo "usage: etcd.sh start|stop|kill DIR [PORTS|SIGNAL]" >&2; exit 2 ;;
esac
