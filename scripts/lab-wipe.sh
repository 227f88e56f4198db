#!/usr/bin/env bash
# Returns this machine to what a fresh one looks like, as far as the lab and libvirt go: stops
# everything that runs in the lab's network namespaces (libvirtd, virtlogd, QEMU, dnsmasq, the
# internet host's services), deletes the namespaces, and removes the state libvirt and the lab
# left behind (logs, run and qemu directories, definitions, pools, the lab's image cache).
# Installed packages and slow build caches (the Pulumi CLI in ~/.cache/bulkhead, npm's cache)
# stay. CI runs it first, so every run walks the path of a machine where bulkhead never ran.
# Plain bash on purpose: it must work before `npm ci` and with no libvirtd answering.
set -euo pipefail

namespaces=(bulkhead-lab bulkhead-lab-inet)

kill_all() { # signal pid...
  local sig="$1"; shift
  [ "$#" -gt 0 ] && kill "-$sig" "$@" 2>/dev/null || true
}

# 1. Processes: everything inside the lab's namespaces, and the daemons by their pid files
#    (a daemon started outside a namespace by an older lab too).
pids=()
for ns in "${namespaces[@]}"; do
  if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$ns"; then
    while read -r p; do [ -n "$p" ] && pids+=("$p"); done < <(ip netns pids "$ns" 2>/dev/null || true)
  fi
done
for f in /var/run/libvirtd.pid /var/run/virtlogd.pid; do
  if [ -f "$f" ]; then
    p="$(tr -dc '0-9' <"$f")"
    [ -n "$p" ] && pids+=("$p")
  fi
done
if [ "${#pids[@]}" -gt 0 ]; then
  kill_all TERM "${pids[@]}"
  for _ in $(seq 1 50); do
    alive=()
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive+=("$p"); done
    [ "${#alive[@]}" -eq 0 ] && break
    sleep 0.2
  done
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
fi

# 2. Namespaces.
for ns in "${namespaces[@]}"; do
  ip netns delete "$ns" 2>/dev/null || true
done

# 3. State. /etc/libvirt keeps the packages' own files (libvirtd.conf, qemu.conf and the nwfilters
#    libvirt-daemon-config-nwfilter installs); only definitions libvirt wrote at run time go.
rm -rf /var/log/libvirt /run/libvirt /var/run/libvirt /var/lib/libvirt /var/cache/libvirt \
  /var/lib/bulkhead-lab /run/bulkhead-lab /var/run/libvirtd.pid /var/run/virtlogd.pid
rm -rf /etc/libvirt/qemu /etc/libvirt/storage /etc/libvirt/secrets
# The nwfilters a fresh machine has are the ones libvirt-daemon-config-nwfilter's postinst copied
# from /usr/share/libvirt/nwfilter into /etc (dpkg does not list the copies): every filter goes,
# then those come back, as on a machine where bulkhead never ran.
rm -f /etc/libvirt/nwfilter/*.xml
if [ -d /usr/share/libvirt/nwfilter ]; then
  mkdir -p /etc/libvirt/nwfilter
  cp /usr/share/libvirt/nwfilter/*.xml /etc/libvirt/nwfilter/
fi
echo "lab-wipe: lab and libvirt state removed (packages and build caches kept)"
