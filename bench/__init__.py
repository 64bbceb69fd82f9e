"""Benchmarks: `make bench`. Each target is measured against a floor in the same run."""
