# Shared helpers for the test-environment scripts (sourced, not run).
#
# Every process a part launches carries FLEETKIT_TEST_OWNER=<part dir> in its environment, and is
# inherited by everything it forks (containerd, shims, docker-proxy, units). That marker is how a stop
# finds what its part started after a `kill -9` orphaned it, without ever matching by program name —
# other test runs on the same machine use other dirs, so their processes never match.

# ms: milliseconds since the epoch.
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# alive PID: the process exists and is not a zombie (PID 1 may reap orphans lazily).
alive() {
  [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] &&
    [ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]
}

# wait_gone PID SECONDS: wait for a process to end; false on timeout.
wait_gone() {
  local end=$(( $(ms) + $2 * 1000 ))
  while alive "$1"; do [ "$(ms)" -lt "$end" ] || return 1; sleep 0.02; done
}

# owned_pids DIR: live processes whose environment marks them as started for DIR (exact match).
owned_pids() {
  local f p
  for f in $(grep -lzsxF "FLEETKIT_TEST_OWNER=$1" /proc/[0-9]*/environ 2>/dev/null); do
    p=${f#/proc/}; p=${p%/environ}
    [ "$p" != "$$" ] && [ "$p" != "${BASHPID:-}" ] && alive "$p" && echo "$p"
  done
  return 0
}

# cgroup_pids NAME: live processes in any cgroup whose path has a component NAME (its subtree too).
cgroup_pids() {
  local f p
  for f in $(grep -lsE ":/(.*/)?$1(/|\$)" /proc/[0-9]*/cgroup 2>/dev/null); do
    p=${f#/proc/}; p=${p%/cgroup}
    alive "$p" && echo "$p"
  done
  return 0
}

# cgroup_dirs NAME: top-level cgroup directories called NAME in every mounted hierarchy.
cgroup_dirs() {
  local h
  for h in /sys/fs/cgroup /sys/fs/cgroup/*; do
    [ -d "$h/$1" ] && echo "$h/$1"
  done
  return 0
}

# remove_cgroups NAME: rmdir the cgroup trees called NAME bottom-up (they must be empty of processes).
remove_cgroups() {
  local d
  for d in $(cgroup_dirs "$1"); do
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    [ -d "$d" ] && echo "could not remove cgroup $d" >&2
  done
  return 0
}

# kill_pids SIGNAL PID...: signal live processes by PID, then wait up to 5 s for them to go.
kill_pids() {
  local sig=$1 p; shift
  for p in "$@"; do alive "$p" && kill "-$sig" "$p" 2>/dev/null; done
  for p in "$@"; do wait_gone "$p" 5 || true; done
}

# unmount_under DIR: lazily unmount every mount at or below DIR in this mount namespace, deepest first.
unmount_under() {
  local m
  for _ in 1 2 3; do
    awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
      while read -r m; do umount -l "$m" 2>/dev/null; done
  done
}

# check_dir DIR: refuse dangerous paths (the scripts rm -rf them).
check_dir() {
  case "$1" in /?*/?*) ;; *) echo "$(basename "$0"): DIR must be an absolute path at least 2 levels deep: '$1'" >&2; exit 2 ;; esac
}
