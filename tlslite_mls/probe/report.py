"""Check results and their two renderings: a table for people, JSON for scripts."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Optional

PASS, FAIL, NOT_APPLICABLE = "pass", "FAIL", "n/a"


@dataclass
class Check:
    """One line of the report: ``status`` is pass, FAIL or n/a (nothing to judge)."""

    name: str
    expected: str
    observed: str = "not run"
    status: str = NOT_APPLICABLE

    def judge(self, ok: bool, observed: str) -> "Check":
        self.status, self.observed = (PASS if ok else FAIL), observed
        return self

    def skip(self, observed: str) -> "Check":
        self.status, self.observed = NOT_APPLICABLE, observed
        return self


@dataclass
class Report:
    target: str
    mode: str
    checks: list[Check] = field(default_factory=list)

    def add(self, name: str, expected: str) -> Check:
        c = Check(name, expected)
        self.checks.append(c)
        return c

    def get(self, name: str) -> Optional[Check]:
        return next((c for c in self.checks if c.name == name), None)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    def to_json(self) -> str:
        return json.dumps({"target": self.target, "mode": self.mode,
                           "checks": [asdict(c) for c in self.checks],
                           "failed": len(self.failed)}, indent=1)

    def to_table(self) -> str:
        # The observed text comes last and is never cut: it is what a developer needs.
        rows = [("check", "result", "expected", "observed")] + \
            [(c.name, c.status, c.expected, c.observed) for c in self.checks]
        widths = [min(max(len(r[i]) for r in rows), cap)
                  for i, cap in enumerate((40, 6, 56, 10 ** 6))]
        lines = []
        for n, r in enumerate(rows):
            cells = [_clip(v, w).ljust(w) for v, w in zip(r[:3], widths)] + [r[3]]
            lines.append("  ".join(cells).rstrip())
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        passed = sum(c.status == PASS for c in self.checks)
        lines.append(f"\n{self.target} ({self.mode}): {passed} passed, {len(self.failed)} "
                     f"failed, {len(self.checks) - passed - len(self.failed)} not applicable")
        return "\n".join(lines) + "\n"


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"
