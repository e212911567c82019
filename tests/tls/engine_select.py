"""Pick the MLS engine for helper processes: the real one, or the stand-in."""

from __future__ import annotations

import importlib.util


def real_engine_available() -> bool:
    try:
        return importlib.util.find_spec("tlslite_mls.twoparty.handshake") is not None
    except ModuleNotFoundError:
        return False


def use_available_engine() -> None:
    """Point tlslite_mls.tls.engine at the stand-in when the real engine is absent."""
    if real_engine_available():
        return
    import mls_double

    import tlslite_mls.tls.engine as engine
    engine.load = mls_double.load
