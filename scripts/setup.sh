#!/usr/bin/env bash
# Installs what bulkhead needs on a fresh Debian 12 machine: the Debian
# packages for libvirt, QEMU and the lab, then the npm packages (which also
# compiles the TypeScript into dist/). Safe to run again: it only installs
# what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients libvirt-daemon-config-nwfilter
  qemu-system-x86 qemu-utils dnsmasq-base iptables ebtables iproute2
  cpio e2fsprogs libxml2-utils genisoimage xorriso busybox-static
  mmdebstrap  # lab/images/stock.sh: the stock Debian image, from Debian packages only
  cloud-init nftables  # the tests judge every seed with Debian's cloud-init and the provider ruleset with nft
)
missing=()
for p in "${debs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund
else
  npm run --silent build
fi
