#!/usr/bin/env bash
# Makes the real Pulumi engine available without the web, and prints the directory to put on
# PATH:   export PATH="$(scripts/engine.sh):$PATH"
#
# The CLI is built from the Go module proxy at the version pinned in engine/go.mod (the npm
# `pulumi` package would download it from the web). Pulumi's Node.js language host is not
# served by the proxy, so the engine gets bulkhead's own (langhost/) under the same name, plus
# the dynamic-provider plugin that `pulumi.dynamic` resources need. The CLI is built once into a
# cache outside the repo and reused; each checkout gets its own directory (.bulkhead/engine, a
# hard link to the cached CLI plus wrappers pointing at this checkout), so two checkouts never
# run each other's language host. Progress goes to stderr, only the directory to stdout.
set -euo pipefail

repo="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf 'engine: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# Something that prints a version counts as usable; the npm `pulumi` stub would try the web.
usable() { [ -n "$(PULUMI_SKIP_UPDATE_CHECK=true timeout 60 "$1" version 2>/dev/null || true)" ]; }

if pulumi_bin="$(command -v pulumi)" &&
  lang_bin="$(command -v pulumi-language-nodejs)" &&
  command -v pulumi-resource-pulumi-nodejs >/dev/null &&
  usable "$pulumi_bin"; then
  pulumi_dir="$(dirname -- "$pulumi_bin")"
  lang_dir="$(dirname -- "$lang_bin")"
  if [ "$pulumi_dir" = "$lang_dir" ]; then
    printf '%s\n' "$pulumi_dir"
  else
    printf '%s:%s\n' "$pulumi_dir" "$lang_dir"
  fi
  exit 0
fi

# One place states the version: the module requirement the CLI is built from.
# Matches both `require M V` and a line inside a `require (...)` block.
version="$(awk '{ for (i = 1; i < NF; i++) if ($i == "github.com/pulumi/pulumi/pkg/v3") { print $(i + 1); exit } }' \
  "$repo/engine/go.mod")"
[ -n "$version" ] || die "no github.com/pulumi/pulumi/pkg/v3 requirement in $repo/engine/go.mod"
cache="${BULKHEAD_CACHE:-$HOME/.cache/bulkhead}/engine-$version"
mkdir -p -- "$cache"

# Two runs at once (parallel test workers, two shells) would build twice and race on the files.
exec 9>"$cache/.lock"
flock 9

if [ "$(PULUMI_SKIP_UPDATE_CHECK=true "$cache/pulumi" version 2>/dev/null || true)" != "$version" ]; then
  go_bin="$(command -v go || true)"
  if [ -z "$go_bin" ] && [ -x /usr/local/go/bin/go ]; then go_bin=/usr/local/go/bin/go; fi
  [ -n "$go_bin" ] || die "Go is needed to build the Pulumi CLI, and there is no \`go\` on PATH" \
    "nor at /usr/local/go/bin/go: install Go (https://go.dev/dl/ or Debian's golang-go) and run this again"
  log "building the Pulumi CLI $version from the Go module proxy (first run takes ~5 min)…"
  started="$SECONDS"
  # Without the version the CLI reports an empty one, which `pulumi version` and plugin
  # version checks (requiredPulumiVersion) rely on.
  (cd -- "$repo/engine" && "$go_bin" build -trimpath \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
    -o "$cache/pulumi.partial" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  mv -f -- "$cache/pulumi.partial" "$cache/pulumi"
  log "built $cache/pulumi in $((SECONDS - started)) s"
fi

[ -f "$repo/dist/langhost/main.js" ] ||
  log "warning: $repo/dist/langhost/main.js is missing; compile first (npx tsc -p tsconfig.build.json)"

dynamic_provider="$(cd -- "$repo" && node -p 'require.resolve("@pulumi/pulumi/cmd/dynamic-provider")')" ||
  die "@pulumi/pulumi is not installed in $repo (run npm ci)"

# The engine looks for plugins next to its own executable first, so the CLI sits beside them.
bin="$repo/.bulkhead/engine"
mkdir -p -- "$bin"
if ! [ "$bin/pulumi" -ef "$cache/pulumi" ]; then
  ln -f -- "$cache/pulumi" "$bin/.pulumi.partial" 2>/dev/null || cp -- "$cache/pulumi" "$bin/.pulumi.partial"
  mv -f -- "$bin/.pulumi.partial" "$bin/pulumi"
fi

# Rewritten only when different, so a running engine never sees a half-written plugin.
write_wrapper() {
  local name="$1" body="$2" tmp
  if [ -f "$bin/$name" ] && [ "$(cat -- "$bin/$name")" = "$body" ]; then return 0; fi
  tmp="$bin/.$name.partial"
  printf '%s\n' "$body" >"$tmp"
  chmod 755 -- "$tmp"
  mv -f -- "$tmp" "$bin/$name"
}

# The paths are quoted with %q so any checkout path survives the round trip through bash.
write_wrapper pulumi-language-nodejs "#!/usr/bin/env bash
# Written by bulkhead's scripts/engine.sh: the engine's Node.js language host is bulkhead's.
exec $(printf '%q' "$repo/bin/pulumi-language-nodejs") \"\$@\""

write_wrapper pulumi-resource-pulumi-nodejs "#!/usr/bin/env bash
# Written by bulkhead's scripts/engine.sh: serves pulumi.dynamic resources.
exec node $(printf '%q' "$dynamic_provider") \"\$@\""

printf '%s\n' "$bin"
