"""Benchmarks of training and inference: `python -m benchmarks [--quick]` (or `make bench`)."""
