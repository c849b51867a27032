#!/usr/bin/env bash
# A private Docker engine (Debian docker.io 20.10 dockerd) for tests, with local images and no registry.
#
#   engine.sh start DIR [NAME]   start (or keep) dockerd; wait for /_ping, then make the images if missing
#   engine.sh halt DIR           stop dockerd (SIGTERM) but keep DIR: images, containers, bridge
#   engine.sh kill DIR           SIGKILL dockerd only (a crash); containerd and the shims live on
#   engine.sh stop DIR           stop everything it started, by PID, and remove its mounts, cgroups,
#                                bridge and DIR; works after a crash (`kill -9`) too
#
# DIR/netns, when it exists before `start`, runs dockerd in network and mount namespaces of its own (see start).
# NAME (default: fk + a hash of DIR, ≤ 15 chars) names the engine's own bridge and the cgroup parent of
# its containers, so several engines run side by side and never touch docker0 or each other.
# The bridge gets a free 10.213.X.0/24 (chosen under a lock). No iptables rules or sysctls are changed:
# containers are reachable from the host on their bridge IP, published ports go through docker-proxy on
# 127.0.0.1, and containers cannot reach the outside world.
# Images: local/busybox:latest (Debian busybox-static) and local/httpd:latest (busybox
# running `httpd -f -p 8080 -h /www` with a HEALTHCHECK), both loaded from a locally made archive.
# DIR/part.env holds the settings for the test helpers.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

cmd=${1:-}; DIR=${2:-}
[ -n "$cmd" ] && [ -n "$DIR" ] || { echo "usage: engine.sh start|halt|kill|stop DIR [NAME]" >&2; exit 2; }
check_dir "$DIR"
SOCK=$DIR/docker.sock
PIDFILE=$DIR/dockerd.pid
DATA=$DIR/data
EXEC=$DIR/exec
BUSYBOX=local/busybox:latest
HTTPD=local/httpd:latest
NETLOCK=/tmp/fleetkit-test-net.lock
log() { echo "[engine] $*" >&2; }
ping_ok() { curl -sf -m 2 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; }
dk() { DOCKER_HOST=unix://$SOCK timeout 60 docker "$@"; }
dpid() { cat "$PIDFILE" 2>/dev/null || true; }
NAME=${3:-$(cat "$DIR/name" 2>/dev/null || echo "fk$(echo -n "$DIR" | sha1sum | cut -c1-10)")}
case "$NAME" in [a-z]*) ;; *) log "bad NAME '$NAME'"; exit 2 ;; esac
[ ${#NAME} -le 15 ] && [[ $NAME =~ ^[a-z0-9]+$ ]] || { log "NAME must be ≤ 15 chars of [a-z0-9]"; exit 2; }

# make_bridge: create bridge NAME with the first free 10.213.X.1/24 (under a lock shared by all runs).
make_bridge() {
  if ip link show "$NAME" >/dev/null 2>&1 && [ -s "$DIR/subnet" ]; then return; fi
  local x start used
  start=$(( 0x$(echo -n "$NAME" | sha1sum | cut -c1-2) ))
  exec 9>"$NETLOCK"
  flock -w 30 9 || { log "could not lock $NETLOCK"; exit 1; }
  used=$(ip -4 -o addr show; ip -4 route show table all 2>/dev/null || true)
  for i in $(seq 0 253); do
    x=$(( (start + i) % 254 + 1 ))
    grep -q "10\.213\.$x\.[0-9]" <<<"$used" || break
    x=""
  done
  [ -n "$x" ] || { log "no free 10.213.X.0/24 left"; exit 1; }
  ip link add name "$NAME" type bridge
  ip addr add "10.213.$x.1/24" dev "$NAME"
  ip link set "$NAME" up
  exec 9>&-
  echo "10.213.$x.0/24" > "$DIR/subnet"
}

# make_images: both images in one `docker load` of a hand-made image archive (one shared layer), which
# is much faster than import + build and needs no registry. The httpd config carries the HEALTHCHECK
# that `docker import -c` cannot set.
make_images() {
  local t0 rfs img d cb ch arch
  dk image inspect "$BUSYBOX" >/dev/null 2>&1 && dk image inspect "$HTTPD" >/dev/null 2>&1 && return 0
  t0=$(ms)
  [ -x /bin/busybox ] || { log "/bin/busybox missing (apt-get install busybox-static)"; exit 1; }
  rfs=$DIR/rootfs; img=$DIR/image
  rm -rf "$rfs" "$img"; mkdir -p "$rfs"/{bin,etc,tmp,proc,sys,dev,www,root} "$img"
  cp /bin/busybox "$rfs/bin/busybox"
  for a in $("$rfs/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$rfs/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$rfs/etc/passwd"
  echo 'root:x:0:' > "$rfs/etc/group"
  echo 'hello from fleetkit test httpd' > "$rfs/www/index.html"
  chmod 1777 "$rfs/tmp"
  tar --numeric-owner -C "$rfs" -cf "$img/layer.tar" .
  d=$(sha256sum "$img/layer.tar" | cut -d' ' -f1)
  mkdir "$img/$d"; mv "$img/layer.tar" "$img/$d/layer.tar"
  arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
  local common='"architecture":"'$arch'","os":"linux","created":"2024-01-01T00:00:00Z","rootfs":{"type":"layers","diff_ids":["sha256:'$d'"]}'
  echo '{'"$common"',"config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]}}' > "$img/busybox.json"
  echo '{'"$common"',"config":{"Env":["PATH=/bin"],"Cmd":["httpd","-f","-p","8080","-h","/www"],"ExposedPorts":{"8080/tcp":{}},"Healthcheck":{"Test":["CMD-SHELL","wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1"],"Interval":1000000000,"Timeout":2000000000,"Retries":3}}}' > "$img/httpd.json"
  cb=$(sha256sum "$img/busybox.json" | cut -d' ' -f1); mv "$img/busybox.json" "$img/$cb.json"
  ch=$(sha256sum "$img/httpd.json" | cut -d' ' -f1); mv "$img/httpd.json" "$img/$ch.json"
  echo '[{"Config":"'$cb'.json","RepoTags":["'$BUSYBOX'"],"Layers":["'$d'/layer.tar"]},{"Config":"'$ch'.json","RepoTags":["'$HTTPD'"],"Layers":["'$d'/layer.tar"]}]' > "$img/manifest.json"
  tar -C "$img" -cf - . | dk load -q >/dev/null
  rm -rf "$rfs" "$img"
  log "loaded $BUSYBOX and $HTTPD in $(( $(ms) - t0 )) ms"
}

start() {
  local t0 launcher
  mkdir -p "$DIR" "$DATA" "$EXEC"; chmod 700 "$DIR"
  echo "$NAME" > "$DIR/name"
  if alive "$(dpid)" && ping_ok; then
    log "already running (pid $(dpid))"
  else
    command -v dockerd >/dev/null || { log "dockerd missing (apt-get install docker.io)"; exit 1; }
    t0=$(ms)
    # a crashed dockerd leaves containerd and shims running: a new dockerd reconnects to them
    rm -f "$SOCK"
    local launch=()
    if [ -e "$DIR/netns" ]; then
      # its own network namespace: the bridge is made inside it, and published ports bind its own loopback,
      # so no port of this engine meets another engine's or the machine's; the namespace ends with dockerd.
      # Its own mount namespace too, with / shared inside it as on a systemd host (this machine's / is
      # private), so `rslave` binds of / work; its mounts stay inside and vanish with it.
      echo 10.213.0.0/24 > "$DIR/subnet"
      # shellcheck disable=SC2016
      launch=(unshare --net --mount --propagation private -- sh -c 'mount --make-rshared / && ip link set lo up && ip link add name "$0" type bridge &&
        ip addr add 10.213.0.1/24 dev "$0" && ip link set "$0" up && exec "$@"' "$NAME")
    else
      make_bridge
    fi
    echo '{}' > "$DIR/daemon.json"     # never pick up /etc/docker/daemon.json
    FLEETKIT_TEST_OWNER=$DIR setsid "${launch[@]}" dockerd \
      --config-file="$DIR/daemon.json" --data-root="$DATA" --exec-root="$EXEC" --pidfile="$PIDFILE" \
      -H "unix://$SOCK" --storage-driver=vfs \
      --bridge="$NAME" --cgroup-parent="/$NAME" --exec-opt native.cgroupdriver=cgroupfs \
      --containerd-namespace="$NAME" --containerd-plugins-namespace="${NAME}p" \
      --iptables=false --ip-masq=false --ip-forward=false --ip6tables=false \
      --ip=127.0.0.1 --userland-proxy=true --shutdown-timeout=3 --log-level=warn \
      </dev/null >>"$DIR/dockerd.log" 2>&1 &
    launcher=$!
    for i in $(seq 600); do
      ping_ok && break
      if ! alive "$launcher" && ! alive "$(dpid)"; then log "dockerd exited:"; tail -30 "$DIR/dockerd.log" >&2; exit 1; fi
      sleep 0.05
    done
    ping_ok || { log "dockerd not ready after 30 s:"; tail -30 "$DIR/dockerd.log" >&2; exit 1; }
    log "dockerd pid $(dpid) ready in $(( $(ms) - t0 )) ms (bridge $NAME $(cat "$DIR/subnet"))"
  fi
  make_images
  printf 'DOCKER_SOCK=%s\nDOCKER_BRIDGE=%s\nDOCKER_SUBNET=%s\nDOCKER_PID=%s\n' \
    "$SOCK" "$NAME" "$(cat "$DIR/subnet")" "$(dpid)" > "$DIR/part.env"
  echo "unix://$SOCK"
}

halt() { # SIGNAL
  local p was=0; p=$(dpid)
  if alive "$p"; then
    was=1
    kill "-$1" "$p" 2>/dev/null || true
    wait_gone "$p" 20 || { log "dockerd $p did not exit in 20 s, SIGKILL"; kill -KILL "$p"; wait_gone "$p" 5 || true; }
  fi
  if [ "$1" = TERM ] && [ $was = 1 ]; then
    # dockerd stops its own containerd on a clean exit; give it the same grace
    for p in $(owned_pids "$DIR"); do wait_gone "$p" 5 || true; done
  fi
}

stop() {
  local ids p r id
  # 1. remove containers while the API is up: tears down veths, docker-proxies, netns mounts
  if alive "$(dpid)" && ping_ok; then
    ids=$(dk ps -aq 2>/dev/null || true)
    [ -n "$ids" ] && { dk rm -f $ids >/dev/null 2>&1 || true; }
  fi
  halt TERM
  # 2. containers orphaned by a crashed dockerd: delete them through runc's state dirs
  for r in "$EXEC"/runtime-runc/*; do
    [ -d "$r" ] || continue
    for id in $(runc --root "$r" list -q 2>/dev/null); do runc --root "$r" delete --force "$id" 2>/dev/null || true; done
  done
  # 3. whatever is left is ours: containerd, shims, docker-proxies (environment marker), container
  #    processes (our cgroup parent)
  p=$( { owned_pids "$DIR"; cgroup_pids "$NAME"; } | sort -u)
  [ -n "$p" ] && { log "killing leftover pids" $p; kill_pids KILL $p; }
  # 4. mounts (netns files, shm, the data-root self bind mount), cgroups, bridge, files
  unmount_under "$DIR"
  remove_cgroups "$NAME"
  if ip link show "$NAME" >/dev/null 2>&1; then ip link del "$NAME" || log "could not delete bridge $NAME"; fi
  rm -rf "$DIR"
}

case "$cmd" in
  start) start ;;
  halt) halt TERM ;;
  kill) halt KILL ;;
  stop) t0=$(ms); stop; log "stopped in $(( $(ms) - t0 )) ms" ;;
  *) echo "usage: engine.sh start|halt|kill|stop DIR [NAME]" >&2; exit 2 ;;
esac
