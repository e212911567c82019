"""``python -m tlslite_mls probe HOST:PORT``: a conformance checker for servers of
either draft.

It runs a battery of connections against someone else's server and reports, for
each check, what docs/profile.md expects, what was observed and whether it passed.
A check that the server gives no occasion for (no HelloRetryRequest, no ticket, no
epoch change of its own) is reported as not applicable, never as passed.
"""

from .report import Check, Report

__all__ = ["Check", "Report"]
