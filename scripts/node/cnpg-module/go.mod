// Pins the CloudNativePG Go module that scripts/node/cnpg.mjs fetches through the Go module proxy.
// go.sum holds its checksums: a download that does not match them is refused. Nothing is built here.
module kmcp.local/cnpg-module

go 1.26.4

require github.com/cloudnative-pg/cloudnative-pg v1.30.0
