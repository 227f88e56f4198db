//go:build tools

// Package engine pins the Pulumi CLI at one version so that scripts/engine.sh
// can `go build` it from the Go module proxy.
package engine

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
