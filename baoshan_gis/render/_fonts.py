"""The CJK font of the print maps: Noto Sans SC from the ``pylopdf-fonts-zh-cn`` package (OFL 1.1).

These machines have no system CJK font, so the package installs one through pip and registers
it with matplotlib's font manager when a map is drawn. DejaVu Sans (shipped with matplotlib)
follows as a fallback for the few symbols Noto Sans SC lacks.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from baoshan_gis._errors import BaoshanGISError

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType


def cjk_font_path() -> Path:
    """Path of the installed Noto Sans SC file (without touching matplotlib)."""
    try:
        import pylopdf_fonts_zh_cn
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise BaoshanGISError(
            "the CJK font package is missing: pip install pylopdf-fonts-zh-cn"
        ) from exc
    return Path(pylopdf_fonts_zh_cn.sans_path())


@lru_cache(maxsize=1)
def cjk_font() -> tuple[str, Path]:
    """Register the CJK font with matplotlib and return ``(family name, file path)``."""
    from matplotlib import font_manager

    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    return name, path


def rc_params() -> dict[RcKeyType, Any]:
    """matplotlib settings for every print map (use with ``matplotlib.rc_context``).

    Text stays text: SVG writes ``<text>`` elements (``svg.fonttype = 'none'``), PDF embeds
    TrueType/CID fonts (``pdf.fonttype = 42``), so the Chinese title can be searched and copied.
    """
    name, _ = cjk_font()
    return {
        "font.family": [name, "DejaVu Sans"],
        "axes.unicode_minus": False,
        "svg.fonttype": "none",
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "hatch.linewidth": 0.45,
        "savefig.facecolor": "white",
    }
