"""Benchmarks (GitHub issue 12): ``python -m benchmarks.fleet_bench`` — see docs/performance.md."""
