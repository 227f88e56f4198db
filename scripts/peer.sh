#!/usr/bin/env bash
# Builds the bench's peer, OpenTofu and terraform-provider-libvirt, from the Go module proxy into
# a cache outside the repo (like scripts/engine.sh builds the Pulumi CLI), and prints the cache
# directory to stdout. Neither tool's code enters the repo: `go mod download` fetches each module
# into Go's module cache, and the binary is built inside that read-only copy with -mod=mod (the
# modules' own go.sum pins their dependencies). `go install M@V` is refused for both modules
# (replace directives), building inside the downloaded module is not.
#
# The cache directory holds:
#   tofu                                         the OpenTofu CLI
#   plugins/registry.opentofu.org/dmacvicar/libvirt/<v>/linux_amd64/terraform-provider-libvirt_v<v>
#   tofurc                                       a CLI config that installs the provider from
#                                                plugins/ only (filesystem_mirror), so `tofu init`
#                                                never goes to the network (TF_CLI_CONFIG_FILE)
# Progress goes to stderr, only the directory to stdout.
set -euo pipefail

tofu_version="${BULKHEAD_TOFU_VERSION:-1.10.6}"
provider_version="${BULKHEAD_LIBVIRT_PROVIDER_VERSION:-0.8.3}"

log() { printf 'peer: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

cache="${BULKHEAD_CACHE:-$HOME/.cache/bulkhead}/peer-tofu-$tofu_version-libvirt-$provider_version"
mkdir -p -- "$cache"
exec 9>"$cache/.lock"
flock 9

go_bin="$(command -v go || true)"
if [ -z "$go_bin" ] && [ -x /usr/local/go/bin/go ]; then go_bin=/usr/local/go/bin/go; fi

# Downloads module M@V into Go's module cache and prints the directory it sits in.
module_dir() {
  local json dir
  json="$("$go_bin" mod download -json "$1@$2")" || die "go mod download $1@$2 failed"
  dir="$(printf '%s' "$json" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);if(j.Error){console.error(j.Error);process.exit(1)}console.log(j.Dir)})')" ||
    die "go mod download $1@$2: no module directory"
  printf '%s\n' "$dir"
}

# go build inside a read-only module directory: -mod=mod lets it resolve the module's own
# requirements (the module cache is read-only, so go.sum is not rewritten: it is complete).
build_in() {
  local dir="$1" pkg="$2" out="$3" ldflags="$4"
  (cd -- "$dir" && GOFLAGS=-mod=mod "$go_bin" build -trimpath -ldflags "$ldflags" -o "$out.partial" "$pkg")
  mv -f -- "$out.partial" "$out"
}

tofu="$cache/tofu"
if ! [ -x "$tofu" ] || ! "$tofu" version 2>/dev/null | grep -q "v$tofu_version"; then
  [ -n "$go_bin" ] || die "Go is needed to build OpenTofu: install Go and run this again"
  log "building OpenTofu $tofu_version from the Go module proxy (~2 min)…"
  started="$SECONDS"
  dir="$(module_dir github.com/opentofu/opentofu "v$tofu_version")"
  build_in "$dir" ./cmd/tofu "$tofu" "-s -w -X github.com/opentofu/opentofu/version.dev=no"
  log "built $tofu in $((SECONDS - started)) s"
fi

plugin_dir="$cache/plugins/registry.opentofu.org/dmacvicar/libvirt/$provider_version/linux_amd64"
plugin="$plugin_dir/terraform-provider-libvirt_v$provider_version"
if ! [ -x "$plugin" ]; then
  [ -n "$go_bin" ] || die "Go is needed to build terraform-provider-libvirt: install Go and run this again"
  log "building terraform-provider-libvirt $provider_version from the Go module proxy (~5 min)…"
  started="$SECONDS"
  mkdir -p -- "$plugin_dir"
  dir="$(module_dir github.com/dmacvicar/terraform-provider-libvirt "v$provider_version")"
  build_in "$dir" . "$plugin" "-s -w -X main.version=$provider_version"
  log "built $plugin in $((SECONDS - started)) s"
fi

# Only the local mirror: `tofu init` must never reach a registry.
rc="$cache/tofurc"
body="provider_installation {
  filesystem_mirror {
    path    = \"$cache/plugins\"
    include = [\"registry.opentofu.org/dmacvicar/libvirt\"]
  }
  direct {
    exclude = [\"*/*/*\"]
  }
}
disable_checkpoint = true"
if ! [ -f "$rc" ] || [ "$(cat -- "$rc")" != "$body" ]; then
  printf '%s\n' "$body" >"$rc.partial"
  mv -f -- "$rc.partial" "$rc"
fi

printf '%s\n' "$cache"
