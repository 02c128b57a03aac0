"""Benchmarks, never part of the test run: ``python -m scripts.bench.<name>`` (``make bench``,
``make bench-dataset``, ``make bench-assess``). Each prints its figures; none asserts a time."""
