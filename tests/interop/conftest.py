"""Makes the top-level ``interop`` package importable however pytest is started."""

import sys

from helpers import ROOT

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
