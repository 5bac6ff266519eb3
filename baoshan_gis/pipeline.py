"""The main job: build the GeoPackage, run the default analyses, render every map.

``baoshan-gis run --out DIR`` calls :func:`run_all`, offline, on the embedded defaults:

``DIR/baoshan.gpkg``     the plan layers plus the analysis result layers
``DIR/report/``          report.md, CSV and JSON tables, the density COG
``DIR/maps/``            every map of ``maps/`` as PNG and as an offline HTML page
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from baoshan_gis.build import BuildSummary, build_geopackage


@dataclass
class RunResult:
    """Where the main job put its outputs."""

    gpkg: Path
    build: BuildSummary
    report_dir: Path | None = None
    maps: list[Path] = field(default_factory=list)

    def text(self) -> str:
        """Summary for the terminal."""
        lines = [self.build.text()]
        if self.report_dir is not None:
            lines.append(f"Report: {self.report_dir / 'report.md'}")
        if self.maps:
            lines.append(f"Maps: {len(self.maps)} files in {self.maps[0].parent}")
        return "\n".join(lines)


def run_all(
    out_dir: str | os.PathLike[str],
    *,
    formats: tuple[str, ...] = ("png", "html"),
    progress: Callable[[str], None] | None = None,
) -> RunResult:
    """Build, analyse and render into ``out_dir`` (created if missing)."""
    from baoshan_gis.analysis.report import write_report
    from baoshan_gis.render import render_all

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gpkg = out / "baoshan.gpkg"
    summary = build_geopackage(gpkg, progress=progress)
    report_dir = out / "report"
    write_report(gpkg, report_dir, progress=progress)
    maps = render_all(gpkg, out / "maps", formats=formats, progress=progress)
    from baoshan_gis.analysis.report_docx import write_docx

    write_docx(report_dir / "report.md", maps=list(maps))  # the Word report, with the maps
    return RunResult(gpkg=gpkg, build=summary, report_dir=report_dir, maps=list(maps))
