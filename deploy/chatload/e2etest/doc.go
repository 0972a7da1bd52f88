// Package e2etest runs short chatload scenarios against real service
// processes (embedded stores, free loopback ports) and asserts
// correctness — nothing acknowledged lost, nothing duplicated under two
// ids — not speed. Throughput and latency figures come from longer runs,
// recorded in BENCHMARKS.md.
package e2etest
