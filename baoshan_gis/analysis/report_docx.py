"""The planners' report as a Word document (plan documents are Word files).

:func:`write_docx` turns ``report.md`` — the one source of the report's text and tables — into
``report.docx`` with python-docx: headings, paragraphs, real Word tables (the bilingual headers
keep Chinese above English), and optionally the print maps as figures. East Asian text is set in
Noto Sans SC, the font the project installs for its maps.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: Font for East Asian text in the document.
CJK_FONT = "Noto Sans SC"
_MARKUP = re.compile(r"\*\*|`")


def _plain(text: str) -> str:
    return _MARKUP.sub("", text).strip()


def _cells(line: str) -> list[str]:
    return [c.strip().replace("<br>", "\n") for c in line.strip().strip("|").split("|")]


def _set_fonts(document: Any) -> None:
    from docx.oxml.ns import qn

    style = document.styles["Normal"]
    style.font.name = CJK_FONT
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), CJK_FONT)


def _table(document: Any, rows: list[list[str]]) -> None:
    head, body = rows[0], [r for r in rows[2:]]  # rows[1] is the Markdown separator
    table = document.add_table(rows=1 + len(body), cols=len(head))
    table.style = "Table Grid"
    for j, text in enumerate(head):
        cell = table.rows[0].cells[j]
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for i, row in enumerate(body, start=1):
        for j, text in enumerate(row[: len(head)]):
            table.rows[i].cells[j].text = text


def write_docx(report_md: str | os.PathLike[str], out: str | os.PathLike[str] | None = None,
               *, maps: Sequence[str | os.PathLike[str]] = ()) -> Path:
    """Write ``report.docx`` (beside ``report_md`` unless ``out``) with the same headings,
    text and tables, and the PNG ``maps`` as figures at the end. Returns the path."""
    import docx
    from docx.shared import Mm

    from baoshan_gis._files import atomic_path

    src = Path(report_md)
    target = Path(out) if out is not None else src.with_suffix(".docx")
    document = docx.Document()
    _set_fonts(document)
    block: list[list[str]] = []

    def flush() -> None:
        if block:
            _table(document, block)
            block.clear()

    for line in src.read_text(encoding="utf-8").splitlines():
        if line.startswith("|"):
            block.append(_cells(line))
            continue
        flush()
        if not line.strip():
            continue
        level = len(line) - len(line.lstrip("#"))
        if level:
            document.add_heading(_plain(line[level:]), level=min(level, 3))
        elif line.lstrip().startswith("- "):
            document.add_paragraph(_plain(line.lstrip()[2:]), style="List Bullet")
        else:
            document.add_paragraph(_plain(line))
    flush()
    pngs = [Path(p) for p in maps if str(p).lower().endswith(".png") and Path(p).is_file()]
    if pngs:
        document.add_heading("地图 Maps", level=2)
        for png in pngs:
            document.add_picture(str(png), width=Mm(160))
            document.add_paragraph(png.stem)
    with atomic_path(target, copy_existing=False) as tmp:
        document.save(str(tmp))
    return target
