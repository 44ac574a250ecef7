// Package examples embeds the documentation's example files that programs use too: the
// example policy is what the simulation benchmark replays its generated history through.
package examples

import _ "embed"

// Policy is docs/examples/policy.yaml.
//
//go:embed policy.yaml
var Policy []byte
