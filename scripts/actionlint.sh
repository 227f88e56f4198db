#!/usr/bin/env bash
# Builds actionlint (the GitHub Actions workflow linter) from the Go module proxy, once, into a
# cache outside the repo (like scripts/engine.sh does for the Pulumi CLI), and prints the
# binary's path. The tests lint .github/workflows/ with it; a failed build fails them.
set -euo pipefail

version="v1.7.12"
cache="${BULKHEAD_CACHE:-$HOME/.cache/bulkhead}/actionlint-$version"
mkdir -p -- "$cache"
exec 9>"$cache/.lock"
flock 9

if [ ! -x "$cache/actionlint" ]; then
  go_bin="$(command -v go || true)"
  if [ -z "$go_bin" ] && [ -x /usr/local/go/bin/go ]; then go_bin=/usr/local/go/bin/go; fi
  [ -n "$go_bin" ] || { echo "actionlint: Go is needed to build actionlint, and there is no \`go\` on PATH" >&2; exit 1; }
  echo "actionlint: building $version from the Go module proxy…" >&2
  GOBIN="$cache/bin.partial" GOFLAGS=-mod=mod "$go_bin" install -trimpath "github.com/rhysd/actionlint/cmd/actionlint@$version" >&2
  mv -f -- "$cache/bin.partial/actionlint" "$cache/actionlint"
  rmdir -- "$cache/bin.partial"
fi
printf '%s\n' "$cache/actionlint"
