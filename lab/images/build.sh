#!/usr/bin/env bash
# Build the embedded lab's guest images from Debian packages only.
#
#   vmlinuz     Debian's cloud kernel (linux-image-<ver>-cloud-amd64), unpacked with dpkg -x
#   initrd.img  gzip'd newc cpio: busybox-static, the kernel modules the lab needs, lab/guest/init
#   root.img    raw ext4 (mkfs.ext4 -d): the TemplateVM root that AppVMs see copy-on-write;
#               busybox, the qube init (lab/guest/*), nft (nftables) for providers (and a
#               copy of components/provider.nft for seeds that do not carry it), mke2fs
#               (e2fsprogs) for the private volume, socat (UDP/TCP echo service and probes:
#               busybox nc has no UDP), qemu-ga (qemu-guest-agent: `bulkhead prove` runs the
#               probes through it on running guests), with their shared libraries resolved by
#               the image's own dynamic loader
#
# Packages are fetched with `apt-get download` and unpacked with `dpkg -x`; nothing is
# installed from them. Downloads are cached in $BULKHEAD_LAB_CACHE (default
# /var/cache/bulkhead-lab). A stamp file next to the images records the package versions and
# a hash of this script and lab/guest/*; when it matches, the build is skipped.
#
# Usage: lab/images/build.sh [--force]
# Env:   BULKHEAD_LAB_IMAGES (default /var/lib/bulkhead-lab/images)
#        BULKHEAD_LAB_CACHE  (default /var/cache/bulkhead-lab)
#        BULKHEAD_LAB_ROOT_SIZE (default 256M; root.img is sparse)
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
guest_dir="$(cd "${script_dir}/../guest" && pwd)"
images="${BULKHEAD_LAB_IMAGES:-/var/lib/bulkhead-lab/images}"
cache="${BULKHEAD_LAB_CACHE:-/var/cache/bulkhead-lab}"
root_size="${BULKHEAD_LAB_ROOT_SIZE:-256M}"
force=0
if [[ "${1:-}" == "--force" ]]; then force=1; fi

log() { printf 'bulkhead-lab-images: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ "$(id -u)" == "0" ]] || die "must run as root (dpkg -x keeps ownership, mkfs.ext4 -d copies it)"

# Libraries every shipped dynamic binary needs come from these packages.
lib_packages=(libc6 libnftables1 libnftnl11 libmnl0 libjansson4 libgmp10 libxtables12 libedit2
  libtinfo6 libbsd0 libmd0 libext2fs2 libcom-err2 libblkid1 libuuid1
  libssl3 libwrap0 libnsl2 libtirpc3 libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0
  libkeyutils1 libglib2.0-0 libpcre2-8-0 libudev1 libnuma1 liburing2)
tool_packages=(busybox-static nftables e2fsprogs socat qemu-guest-agent)

# Kernel modules, loaded in this order by the initramfs (dependencies are added before each
# one from the modules' own .modinfo; virtio order as verified in lab.md).
modules=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover
  net_failover virtio_net virtio_blk
  cdrom isofs
  virtio_console
  button evdev
  nf_tables nft_ct nft_nat nft_masq nft_chain_nat nft_reject nft_reject_inet nft_reject_ipv4)

# --- host tools -----------------------------------------------------------------------------
need_tools=()
command -v cpio >/dev/null || need_tools+=(cpio)
command -v mkfs.ext4 >/dev/null || need_tools+=(e2fsprogs)
command -v gzip >/dev/null || need_tools+=(gzip)
command -v flock >/dev/null || need_tools+=(util-linux)
if ((${#need_tools[@]})); then
  log "installing host tools: ${need_tools[*]}"
  apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${need_tools[@]}" >&2
fi

mkdir -p "${images}" "${cache}/debs"
exec 9>"${cache}/build.lock"
flock 9

# --- resolve package versions -----------------------------------------------------------------
kernel_pkg="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null \
  | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-cloud-amd64$/ { print $2; exit }')"
[[ -n "${kernel_pkg}" ]] || die "cannot resolve linux-image-cloud-amd64 (run apt-get update?)"
kver="${kernel_pkg#linux-image-}"
all_packages=("${kernel_pkg}" "${tool_packages[@]}" "${lib_packages[@]}")

# One apt-cache call for all candidate versions (each call reads the whole package lists).
declare -A version=()
while read -r p v; do
  [[ -z "${version[${p}]:-}" ]] && version["${p}"]="${v}"
done < <(apt-cache show --no-all-versions "${all_packages[@]}" 2>/dev/null \
  | awk '$1 == "Package:" { p = $2 } $1 == "Version:" { print p, $2 }')
for p in "${all_packages[@]}"; do
  [[ -n "${version[${p}]:-}" ]] || die "package ${p} not found in the apt lists"
done

# The provider ruleset lives with the program (components/provider.nft, shipped in every
# provider's seed); the image keeps a copy of the same bytes for seeds made without it.
ruleset="$(cd "${script_dir}/../../components" && pwd)/provider.nft"
[[ -f "${ruleset}" ]] || die "${ruleset} missing"
guest_hash="$( (cd "${guest_dir}" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum;
  sha256sum <"${ruleset}") | sha256sum | cut -d' ' -f1)"
stamp_text="$(
  printf 'kernel %s\n' "${kver}"
  for p in "${all_packages[@]}"; do printf '%s=%s\n' "${p}" "${version[${p}]}"; done \
    | LC_ALL=C sort
  printf 'build.sh %s\n' "$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"
  printf 'guest %s\n' "${guest_hash}"
  printf 'root_size %s\n' "${root_size}"
)"
stamp="${images}/.bulkhead-images.stamp"
if ((force == 0)) && [[ -f "${stamp}" && -f "${images}/vmlinuz" && -f "${images}/initrd.img" \
  && -f "${images}/root.img" ]] && [[ "$(cat "${stamp}")" == "${stamp_text}" ]]; then
  log "up to date (kernel ${kver}) in ${images}"
  exit 0
fi

# --- download (cached) ------------------------------------------------------------------------
deb_file() { # <pkg> -> path of the cached .deb for the candidate version (may not exist)
  local p="$1" v="${version[$1]}"
  v="${v//:/%3a}"
  local f
  for f in "${cache}/debs/${p}_${v}_"*.deb; do
    if [[ -f "${f}" ]]; then printf '%s\n' "${f}"; return 0; fi
  done
  return 1
}
missing=()
for p in "${all_packages[@]}"; do
  deb_file "${p}" >/dev/null || missing+=("${p}=${version[${p}]}")
done
if ((${#missing[@]})); then
  log "downloading ${#missing[@]} package(s): ${missing[*]}"
  (cd "${cache}/debs" && apt-get -q -o APT::Sandbox::User=root download "${missing[@]}" >&2)
else
  log "all ${#all_packages[@]} packages cached in ${cache}/debs"
fi

# --- unpack -----------------------------------------------------------------------------------
work="$(mktemp -d "${images}/.build.XXXXXX")"
cleanup() { rm -rf -- "${work}"; }
trap cleanup EXIT
unpacked="${work}/unpacked"
mkdir -p "${unpacked}"
log "unpacking packages"
for p in "${all_packages[@]}"; do
  dpkg -x "$(deb_file "${p}")" "${unpacked}"
done
kdir="${unpacked}/lib/modules/${kver}"
[[ -f "${unpacked}/boot/vmlinuz-${kver}" ]] || die "kernel image missing in ${kernel_pkg}"
[[ -x "${unpacked}/bin/busybox" ]] || die "busybox missing in busybox-static"

# --- kernel modules: resolve dependencies from .modinfo ---------------------------------------
declare -A mod_path=()
while IFS= read -r -d '' f; do
  n="$(basename "${f}" .ko)"
  mod_path["${n//-/_}"]="${f#"${kdir}/"}"
done < <(find "${kdir}/kernel" -name '*.ko' -print0)

declare -A mod_done=()
mod_order=()
add_module() { # post-order: dependencies first
  local m="${1//-/_}" deps d
  [[ -n "${mod_done[${m}]:-}" ]] && return 0
  mod_done["${m}"]=1
  if [[ -z "${mod_path[${m}]:-}" ]]; then
    if grep -qE "/${m}\.ko\$" "${kdir}/modules.builtin"; then return 0; fi
    die "kernel module ${m} neither in ${kernel_pkg} nor built in"
  fi
  deps="$(tr '\0' '\n' <"${kdir}/${mod_path[${m}]}" | grep -a -m1 '^depends=' || true)"
  deps="${deps#depends=}"
  local -a dep_list=()
  IFS=',' read -r -a dep_list <<<"${deps}"
  for d in "${dep_list[@]}"; do
    [[ -n "${d}" ]] && add_module "${d}"
  done
  mod_order+=("${m}")
}
for m in "${modules[@]}"; do add_module "${m}"; done
log "kernel ${kver}: ${#mod_order[@]} modules"

# --- initramfs ----------------------------------------------------------------------------------
log "building initrd.img"
ird="${work}/initrd"
mkdir -p "${ird}"/{bin,sbin,dev,proc,sys,run,newroot,seed,lib/modules}
cp -a "${unpacked}/bin/busybox" "${ird}/bin/busybox"
for a in sh mount umount insmod switch_root findfs sleep cat echo ls mkdir poweroff tr printf \
  grep head dmesg; do
  ln -s busybox "${ird}/bin/${a}"
done
: >"${ird}/lib/modules/load.list"
for m in "${mod_order[@]}"; do
  cp "${kdir}/${mod_path[${m}]}" "${ird}/lib/modules/${m}.ko"
  printf '%s\n' "${m}" >>"${ird}/lib/modules/load.list"
done
printf '%s\n' "${kver}" >"${ird}/lib/modules/kernel.version"
install -m 0755 "${guest_dir}/init" "${ird}/init"
# A console node for the kernel to open before devtmpfs is mounted.
mknod -m 0600 "${ird}/dev/console" c 5 1
# Fixed mtimes: the same inputs give the same initrd.img bytes.
find "${ird}" -exec touch -h -d "@${SOURCE_DATE_EPOCH:-0}" {} +
(cd "${ird}" && find . -print0 | LC_ALL=C sort -z \
  | cpio --null -o -H newc -R 0:0 --reproducible --quiet) | gzip -9n >"${work}/initrd.img"

# --- root image ---------------------------------------------------------------------------------
log "building root.img"
rt="${work}/root"
mkdir -p "${rt}"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,etc,proc,sys,dev,run,tmp,rw,home,mnt,root,var,srv/www,lib/bulkhead}
chmod 1777 "${rt}/tmp"
chmod 0700 "${rt}/root"
cp -a "${unpacked}/bin/busybox" "${rt}/bin/busybox"
while IFS= read -r a; do
  [[ -e "${rt}/${a}" ]] && continue
  mkdir -p "$(dirname "${rt}/${a}")"
  ln -s /bin/busybox "${rt}/${a}"
done < <("${unpacked}/bin/busybox" --list-full)
# Dynamic tools (replace busybox's mke2fs applets with e2fsprogs' journaling mke2fs).
bins=(/usr/sbin/nft /sbin/mke2fs /usr/bin/socat /usr/sbin/qemu-ga)
for b in "${bins[@]}"; do
  [[ -x "${unpacked}${b}" ]] || die "${b} missing in the unpacked packages"
  rm -f "${rt}${b}"
  cp -a "${unpacked}${b}" "${rt}${b}"
done
for a in mkfs.ext4 mkfs.ext2; do rm -f "${rt}/sbin/${a}"; ln -s mke2fs "${rt}/sbin/${a}"; done
cp "${unpacked}/etc/mke2fs.conf" "${rt}/etc/mke2fs.conf"
# Copy each binary's shared libraries as the image's own loader resolves them.
copy_lib() { # <absolute path inside unpacked> ; copies the file and the symlink chain
  local p="$1"
  while :; do
    mkdir -p "$(dirname "${rt}${p}")"
    if [[ -L "${unpacked}${p}" ]]; then
      cp -a "${unpacked}${p}" "${rt}${p}"
      local t
      t="$(readlink "${unpacked}${p}")"
      if [[ "${t}" != /* ]]; then t="$(dirname "${p}")/${t}"; fi
      p="${t}"
    else
      cp -a "${unpacked}${p}" "${rt}${p}"
      return 0
    fi
  done
}
copy_lib /lib64/ld-linux-x86-64.so.2
for b in "${bins[@]}"; do
  while read -r lib; do
    copy_lib "${lib}"
  done < <(chroot "${unpacked}" /lib64/ld-linux-x86-64.so.2 --list "${b}" \
    | awk '$2 == "=>" && $3 ~ /^\// { print $3 }')
done
for b in "${bins[@]}"; do
  if chroot "${rt}" /lib64/ld-linux-x86-64.so.2 --list "${b}" | grep -q 'not found'; then
    chroot "${rt}" /lib64/ld-linux-x86-64.so.2 --list "${b}" >&2
    die "unresolved shared libraries for ${b} in root.img"
  fi
done
chroot "${rt}" /usr/sbin/nft --version >/dev/null || die "nft does not run inside root.img"
chroot "${rt}" /sbin/mke2fs -V >/dev/null 2>&1 || die "mke2fs does not run inside root.img"
chroot "${rt}" /usr/sbin/qemu-ga -V >/dev/null || die "qemu-ga does not run inside root.img"

# The qube init and its configuration.
for f in qube-setup qube-ready qube-shutdown qube-agent probes firewall udhcpc.script lib.sh; do
  install -m 0755 "${guest_dir}/${f}" "${rt}/lib/bulkhead/${f}"
done
install -m 0644 "${ruleset}" "${rt}/lib/bulkhead/provider.nft"
install -m 0644 "${guest_dir}/inittab" "${rt}/etc/inittab"
# busybox acpid runs /etc/acpi/<ACTION>/<PARAM> for an event: PWRF/00000080 = power button.
mkdir -p "${rt}/etc/acpi/PWRF"
install -m 0755 "${guest_dir}/acpi-poweroff" "${rt}/etc/acpi/PWRF/00000080"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
  >"${rt}/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"${rt}/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"${rt}/etc/hosts"
ln -s /run/bulkhead/resolv.conf "${rt}/etc/resolv.conf"
ln -s /run/bulkhead/hostname "${rt}/etc/hostname"
printf 'bulkhead lab qube\n' >"${rt}/srv/www/index.html"
printf '%s\n' "${kver}" >"${rt}/etc/bulkhead-kernel"

truncate -s "${root_size}" "${work}/root.img"
mkfs.ext4 -q -F -L bulkhead-root -d "${rt}" "${work}/root.img" >&2

cp "${unpacked}/boot/vmlinuz-${kver}" "${work}/vmlinuz"

# --- publish ------------------------------------------------------------------------------------
for f in vmlinuz initrd.img root.img; do
  mv -f "${work}/${f}" "${images}/${f}"
done
chmod 0644 "${images}/vmlinuz" "${images}/initrd.img" "${images}/root.img"
printf '%s\n' "${stamp_text}" >"${stamp}"
log "done: kernel ${kver} in ${images}"
ls -ls "${images}/vmlinuz" "${images}/initrd.img" "${images}/root.img" >&2
