"""docs/profile.md, the wire profile the code cites, ships with the package's source
and has every section the code and tests point at."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROFILE = ROOT / "docs" / "profile.md"
_CITATION = re.compile(r"docs/profile\.md(?:'s)?\s+sections?\s+((?:\d+(?:\s*(?:-|,|and)\s*)?)+)")


def _sections() -> set[int]:
    return {int(m) for m in re.findall(r"^## (\d+)\. ", PROFILE.read_text(), re.M)}


def _cited(text: str) -> set[int]:
    found: set[int] = set()
    for m in _CITATION.finditer(text):
        spec = m.group(1)
        for a, b in re.findall(r"(\d+)\s*-\s*(\d+)", spec):
            found.update(range(int(a), int(b) + 1))
        found.update(int(n) for n in re.findall(r"\d+", spec))
    return found


def _sources() -> list[pathlib.Path]:
    files = [ROOT / "README.md"]
    for folder in ("tlslite_mls", "tests", "interop", "examples", "patches"):
        files += [p for p in (ROOT / folder).rglob("*")
                  if p.suffix in (".py", ".lua", ".patch", ".md", ".mjs") and p.is_file()
                  and "node_modules" not in p.parts]
    return files


def test_citation_parser_reads_ranges_and_lists():
    assert _cited("see docs/profile.md sections 5-7 and docs/profile.md\n  section 2") == \
        {2, 5, 6, 7}
    assert _cited("docs/profile.md sections 3 and 4, docs/profile.md's section 10") == \
        {3, 4, 10}


def test_profile_has_numbered_sections():
    assert _sections() == set(range(1, 12))


def test_every_cited_section_exists():
    sections = _sections()
    bad = []
    count = 0
    for path in _sources():
        cited = _cited(path.read_text(errors="replace"))
        count += len(cited)
        bad += [f"{path.relative_to(ROOT)}: section {n}" for n in sorted(cited - sections)]
    assert count > 50  # the code does cite it
    assert not bad, "citations of missing sections: " + ", ".join(bad)


def test_no_reference_to_a_profile_outside_the_repository():
    old_name = "PROFILE" + ".md"  # spelt apart so that this file does not match itself
    stale = [str(p.relative_to(ROOT)) for p in _sources()
             if old_name in p.read_text(errors="replace")]
    assert not stale, f"{old_name} is not in the repository; cite docs/profile.md: {stale}"
