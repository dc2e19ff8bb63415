"""Render the contract's reference tables into docs/extract-contract.md, so the doc cannot drift.

Run `python -m orchestration.contract.docs` after changing the contract; a test fails while the
document and the YAML disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from orchestration.contract import CODELIST_DIR, codelist, load_contract

DOC = Path(__file__).resolve().parents[2] / "docs" / "extract-contract.md"
BEGIN = "<!-- BEGIN GENERATED: python -m orchestration.contract.docs -->"
END = "<!-- END GENERATED -->"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render() -> str:
    contract = load_contract()
    out = [BEGIN, ""]
    for entity in contract.entities.values():
        out += [f"### `{entity.name}`", "", entity.description, ""]
        out += [
            f"Key: `{', '.join(entity.key)}`. File: `{entity.name}.csv` or `{entity.name}.parquet`.",
            "",
        ]
        out += ["| column | type | required | rule | description |", "|---|---|---|---|---|"]
        for c in entity.columns:
            rules = []
            if c.codelist:
                rules.append(f"code list `{c.codelist}`")
            if c.references:
                rules.append(f"references `{c.references}`")
            if c.min is not None or c.max is not None:
                rules.append(
                    f"range {c.min if c.min is not None else ''}..{c.max if c.max is not None else ''}"
                )
            if c.personal:
                rules.append("personal: raw layer only")
            if c.is_free_text:
                rules.append("free text: raw layer only")
            out.append(
                f"| `{c.name}` | {c.type} | {'yes' if c.required else ''} | {_cell('; '.join(rules))} "
                f"| {_cell(c.description)} |"
            )
        for start, end in entity.date_order:
            out.append("")
            out.append(f"`{end}` must not be before `{start}`.")
        out.append("")
    out += ["### Reasons", "", "| reason | level | severity | meaning |", "|---|---|---|---|"]
    for r in contract.reasons.values():
        out.append(f"| `{r.code}` | {r.level} | {r.severity} | {_cell(r.description)} |")
    out += ["", "### Code lists", ""]
    for path in sorted(CODELIST_DIR.glob("*.csv")):
        rows = codelist(path.stem)
        out.append(
            f"- `{path.stem}` ({len(rows)} rows): columns {', '.join(f'`{c}`' for c in rows[0])}"
        )
    out += ["", END]
    return "\n".join(out)


def update(doc: Path = DOC) -> bool:
    """Rewrite the generated part of the doc; return True if it changed."""
    text = doc.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    new = head + render() + tail
    if new != text:
        doc.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    changed = update()
    print(f"{DOC} {'updated' if changed else 'already current'}")
    sys.exit(0)
