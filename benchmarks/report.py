"""Where the benchmarks write their figures: each its own marked part of docs/performance.md."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"


def replace_section(section: str, begin: str, end: str, heading: str, doc: Path = DOC) -> None:
    """Put `section` (which starts with `begin` and ends with `end`) in place of the part between
    those markers, or append it under `heading` the first time."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
    if begin in text:
        head, _, rest = text.partition(begin)
        text = head + section + rest.partition(end)[2]
    else:
        text = text.rstrip() + f"\n\n## {heading}\n\n" + section + "\n"
    doc.write_text(text, encoding="utf-8")
