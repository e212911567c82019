"""Prints how many official vectors each file contributed, after the run."""

from helpers import _COUNTS


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _COUNTS:
        return
    terminalreporter.section("official MLS test vectors")
    for name in sorted(_COUNTS):
        passed, failed = _COUNTS[name]
        terminalreporter.write_line(f"{name:40s} {passed:5d} passed {failed:5d} failed")
    passed = sum(p for p, _ in _COUNTS.values())
    failed = sum(f for _, f in _COUNTS.values())
    terminalreporter.write_line(
        f"{f'total over {len(_COUNTS)} files':40s} {passed:5d} passed {failed:5d} failed")
