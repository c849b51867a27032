#!/usr/bin/env bash
# What a test run left behind, if anything.
#
#   leftovers.sh ROOT PREFIX [--clean]
#
# ROOT is the run's temp dir (every part dir lives below it); PREFIX starts the name of every cgroup,
# slice and bridge the run made. Lists, one per line: live processes marked FLEETKIT_TEST_OWNER=ROOT/…
# or inside a PREFIX* cgroup, mounts below ROOT, PREFIX* cgroups, PREFIX* network links, and ROOT itself.
# Exit status 1 when anything is listed. --clean then removes it all (kill by PID, unmount, rmdir,
# ip link del, rm -rf), so a failed run does not leave the machine dirty.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"
ROOT=${1:-}; PREFIX=${2:-}; CLEAN=${3:-}
check_dir "$ROOT"
[[ $PREFIX =~ ^[a-z][a-z0-9]{3,}$ ]] || { echo "leftovers.sh: bad PREFIX '$PREFIX'" >&2; exit 2; }

pids=$(
  for f in $(grep -lzsE "^FLEETKIT_TEST_OWNER=$ROOT(/|\$)" /proc/[0-9]*/environ 2>/dev/null); do
    p=${f#/proc/}; echo "${p%/environ}"
  done
  for f in $(grep -lsE ":/(.*/)?$PREFIX[a-z0-9._@-]*(/|\$)" /proc/[0-9]*/cgroup 2>/dev/null); do
    p=${f#/proc/}; echo "${p%/cgroup}"
  done | sort -un)
live=""
for p in $pids; do [ "$p" != $$ ] && alive "$p" && live="$live $p"; done
# A process of the teardown may still be exiting when the check looks (seen once: listed, its /proc entry
# gone by the time its command line was read). What is a leftover is still there after a short grace.
if [ -n "$live" ]; then
  end=$(( $(ms) + 2000 ))
  while [ "$(ms)" -lt "$end" ]; do
    still=""; for p in $live; do alive "$p" && still="$still $p"; done
    live=$still; [ -z "$live" ] && break
    sleep 0.05
  done
fi
mounts=$(awk -v d="$ROOT" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo)
cgroups=$(find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d -name "$PREFIX*" 2>/dev/null)
links=$(ip -o link show 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1 | grep "^$PREFIX" || true)

found=0
for p in $live; do echo "process $p: $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | cut -c1-160)"; found=1; done
for m in $mounts; do echo "mount $m"; found=1; done
for c in $cgroups; do echo "cgroup $c"; found=1; done
for l in $links; do echo "link $l"; found=1; done
[ -e "$ROOT" ] && { echo "dir $ROOT: $(find "$ROOT" -maxdepth 2 | head -8 | tr '\n' ' ')"; found=1; }

if [ "$found" = 1 ] && [ "$CLEAN" = --clean ]; then
  kill_pids KILL $live
  unmount_under "$ROOT"
  for c in $cgroups; do find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null; done
  for l in $links; do ip link del "$l" 2>/dev/null; done
  rm -rf "$ROOT"
fi
exit $found
