#!/usr/bin/env bash
# Build the lab's stock Debian 12 guest image: what a user gets from Debian's cloud image,
# made here from Debian packages only, with nothing of bulkhead's inside.
#
#   root.qcow2  the root filesystem (ext4, no partition table), made by mmdebstrap (minbase +
#               the packages below, installed by apt in a chroot) and mke2fs -d, converted to
#               qcow2 (only the used blocks are uploaded into the host's pool)
#   vmlinuz     /boot/vmlinuz-<ver> of that root (Debian's cloud kernel)
#   initrd.img  /boot/initrd.img-<ver> of that root (initramfs-tools, made at install)
#
# It boots with direct kernel boot (`root=/dev/vda rw console=ttyS0`); Debian's cloud-init finds
# the NoCloud seed (a virtio disk labelled cidata) and applies it; qemu-guest-agent answers on
# the virtio channel org.qemu.guest_agent.0.
#
# The build is cached by content in <cache>/stock/<key>/, the key a hash of the package list,
# the suite and this script (a machine wipe keeps <cache>, like the lab's .deb cache), and
# published into the images dir by hard link.
# The packages are fetched from this machine's own apt sources (the active files among
# /etc/apt/sources.list and /etc/apt/sources.list.d/*.list|*.sources), unless
# BULKHEAD_STOCK_SOURCES names a sources file. The build takes 1-6 minutes (72 s on a quiet
# machine); --force rebuilds. It runs only when a stock stack or test needs it.
#
# Usage: lab/images/stock.sh [--force]
# Env:   BULKHEAD_LAB_IMAGES (default /var/lib/bulkhead-lab/images; the image goes to <it>/stock)
#        BULKHEAD_LAB_CACHE  (default /var/cache/bulkhead-lab; the content-keyed builds, the lock)
#        BULKHEAD_STOCK_SIZE (default 2G; the filesystem size, sparse)
set -euo pipefail

suite=bookworm
# Stock Debian packages only. iputils-ping is the one probe tool beyond minbase (ICMP);
# TCP, UDP and DNS probes use bash's /dev/tcp and /dev/udp. net-tools: cloud-init 22.4's eni
# renderer writes static routes as `post-up route add default gw ... || true`, and without
# net-tools' `route` a ProxyVM or client got no default route, silently (found by prove).
packages=(systemd-sysv udev cloud-init nftables openssh-server qemu-guest-agent
  linux-image-cloud-amd64 initramfs-tools ifupdown isc-dhcp-client iproute2 netbase
  net-tools iputils-ping)

images="${BULKHEAD_LAB_IMAGES:-/var/lib/bulkhead-lab/images}/stock"
cache="${BULKHEAD_LAB_CACHE:-/var/cache/bulkhead-lab}"
size="${BULKHEAD_STOCK_SIZE:-2G}"
force=0
if [[ "${1:-}" == "--force" ]]; then force=1; fi

log() { printf 'bulkhead-stock-image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ "$(id -u)" == "0" ]] || die "must run as root (mmdebstrap's root mode, mke2fs -d keeps ownership)"

need=()
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v mke2fs >/dev/null || need+=(e2fsprogs)
command -v qemu-img >/dev/null || need+=(qemu-utils)
if ((${#need[@]})); then
  log "installing host tools: ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${need[@]}" >&2
fi

sources=()
if [[ -n "${BULKHEAD_STOCK_SOURCES:-}" ]]; then
  sources=("${BULKHEAD_STOCK_SOURCES}")
else
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f "${f}" ]] && sources+=("${f}")
  done
fi
((${#sources[@]})) || die "no apt sources on this machine (set BULKHEAD_STOCK_SOURCES to a sources file)"

mkdir -p "${images}" "${cache}"
exec 9>"${cache}/stock.lock"
flock 9

stamp_text="$(
  printf 'suite %s\nvariant minbase\nsize %s\n' "${suite}" "${size}"
  printf 'package %s\n' "${packages[@]}" | LC_ALL=C sort
  printf 'stock.sh %s\n' "$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"
)"
key="$(printf '%s\n' "${stamp_text}" | sha256sum | cut -c1-16)"
built="${cache}/stock/${key}"
stamp="${images}/.bulkhead-stock.stamp"
have() { [[ -f "$1/root.qcow2" && -f "$1/vmlinuz" && -f "$1/initrd.img" ]]; }
publish() { # the content-keyed build -> the images dir (hard links where possible)
  local f
  for f in root.qcow2 vmlinuz initrd.img; do
    ln -f "${built}/${f}" "${images}/.${f}.new" 2>/dev/null || cp "${built}/${f}" "${images}/.${f}.new"
    mv -f "${images}/.${f}.new" "${images}/${f}"
  done
  printf '%s\n' "${stamp_text}" >"${stamp}"
}
if ((force == 0)) && have "${images}" && [[ -f "${stamp}" ]] && [[ "$(cat "${stamp}")" == "${stamp_text}" ]]; then
  log "up to date in ${images}"
  exit 0
fi
if ((force == 0)) && have "${built}"; then
  publish
  log "cached build ${key} published to ${images}"
  exit 0
fi

mkdir -p "${cache}/stock"
work="$(mktemp -d "${cache}/stock/.build.XXXXXX")"
cleanup() { rm -rf -- "${work}"; }
trap cleanup EXIT
root="${work}/root"

log "mmdebstrap ${suite} (minbase + ${#packages[@]} packages) from ${sources[*]}"
t0=${SECONDS}
include="$(IFS=,; printf '%s' "${packages[*]}")"
mmdebstrap --quiet --mode=root --variant=minbase --include="${include}" "${suite}" "${root}" "${sources[@]}" >&2
log "root filesystem in $((SECONDS - t0)) s ($(du -sh "${root}" | cut -f1))"

shopt -s nullglob
kernels=("${root}"/boot/vmlinuz-*)
initrds=("${root}"/boot/initrd.img-*)
shopt -u nullglob
((${#kernels[@]} == 1)) || die "expected one kernel in /boot, found ${#kernels[@]}"
((${#initrds[@]} == 1)) || die "expected one initrd in /boot, found ${#initrds[@]}"
cp "${kernels[0]}" "${work}/vmlinuz"
cp "${initrds[0]}" "${work}/initrd.img"

truncate -s "${size}" "${work}/root.img"
mke2fs -q -F -t ext4 -L debian-root -d "${root}" "${work}/root.img" >&2
qemu-img convert -f raw -O qcow2 "${work}/root.img" "${work}/root.qcow2"

chmod 0644 "${work}/root.qcow2" "${work}/vmlinuz" "${work}/initrd.img"
rm -rf -- "${root}" "${work}/root.img" "${built}"
mv "${work}" "${built}"
trap - EXIT
publish
log "done in $((SECONDS - t0)) s: $(basename "${kernels[0]}") in ${images}"
ls -ls "${images}/root.qcow2" "${images}/vmlinuz" "${images}/initrd.img" >&2
