"""Benchmarks: ``python -m tlslite_mls bench {mls,...}``.

Speed claims are measured here against the named peers in the same run
(medians and ratios), never asserted in timed tests.
"""
