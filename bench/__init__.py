"""Benchmarks (not tests): `make bench` prints one table of figures with ratios."""
