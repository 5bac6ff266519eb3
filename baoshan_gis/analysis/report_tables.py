"""The report's tables as planners paste them: Markdown, bilingual headers, shares in %.

:func:`md_table` writes a GitHub-flavoured Markdown table; :func:`paste_table` turns layer ids
into titles, 0–1 shares into % (from the exact value) and column names into Chinese headers with
the English below; zones without geometry read 未定位 in their number cells, never 0 or a dash.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def fmt_cell(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return f"{int(v):,}"
    if isinstance(v, float | np.floating):
        return f"{float(v):,.{digits}f}"
    return str(v).replace("|", "/").replace("\n", " ")


def md_table(df: pd.DataFrame, *, digits: dict[str, int] | None = None) -> str:
    """A GitHub-flavoured Markdown table of ``df`` (no index)."""
    digits = digits or {}
    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    sep = "| " + " | ".join("---" for _ in df.columns) + " |"
    rows = ["| " + " | ".join(fmt_cell(v, digits.get(c, 2)) for c, v in zip(df.columns, r,
                                                                           strict=True)) + " |"
            for r in df.itertuples(index=False)]
    return "\n".join([head, sep, *rows])


#: Bilingual headers of the tables to paste (Chinese above English).
PASTE_HEADERS: dict[str, str] = {
    "layer": "图层<br>Layer",
    "name_zh": "名称<br>Name",
    "area_km2": "面积（km²）<br>Area (km²)",
    "carriers": "载体数<br>Carriers",
    "per_km2": "密度（个/km²）<br>Per km²",
    "label": "类别<br>Category",
    "surveyed": "实测<br>Surveyed",
    "approximate": "近似<br>Approximate",
    "schematic": "示意<br>Schematic",
    "median_accuracy_m": "精度中位数（m）<br>Median accuracy (m)",
    "max_accuracy_m": "最大精度半径（m）<br>Largest accuracy (m)",
    "rank_area": "排序<br>Rank",
    "rank": "排序<br>Rank",
    "zone": "分区<br>Zone",
    "share_of_zone": "占分区（%）<br>% of zone",
    "population": "人口<br>People",
    "lon": "经度<br>Lon",
    "lat": "纬度<br>Lat",
    "marginal_gain_km2": "新增覆盖（km²）<br>Added cover (km²)",
    "marginal_gain": "新增覆盖<br>Added cover",
    "cumulative_share": "累计覆盖（%）<br>Cumulative cover (%)",
    "where_km2": "可移动范围（km²）<br>Room to move (km²)",
}
#: Columns holding 0–1 shares, printed as %.
_PERCENT_COLUMNS = ("share_of_zone", "cumulative_share")


def _share_header(col: str) -> str:
    """``share_500m`` -> bilingual '% within 500 m' header (stations and walks likewise)."""
    key = col[len("share_"):]
    if key.startswith("station_"):
        d = key[len("station_"):].removesuffix("m")
        return f"距地铁站 {d} 米内（%）<br>% within {d} m of a station"
    if key.startswith("walk_"):
        m = key[len("walk_"):].removesuffix("min")
        return f"步行 {m} 分钟内（%）<br>% within walk_{m}min"
    d = key.removesuffix("m")
    return f"距载体 {d} 米内（%）<br>% within {d} m of a carrier"


def layer_title_zh(name: str) -> str:
    """The Chinese title of a catalogue layer (the name itself for other layers)."""
    from baoshan_gis.catalogue import get_layer_def

    try:
        return get_layer_def(name).title_zh
    except KeyError:
        return name


def md_paste(df: pd.DataFrame, *, digits: dict[str, int] | None = None) -> str:
    """:func:`md_table` of :func:`paste_table` (``digits`` keyed by the original columns)."""
    table = paste_table(df)
    renamed = dict(zip(df.columns, table.columns, strict=True))
    return md_table(table, digits={renamed[k]: v for k, v in (digits or {}).items()
                                   if k in renamed})


def paste_table(df: pd.DataFrame) -> pd.DataFrame:
    """A table ready to paste: layer titles instead of layer ids, shares in % from the exact
    value, bilingual headers."""
    out = df.copy()
    if "layer" in out.columns:
        out["layer"] = out["layer"].map(layer_title_zh)
    renames = {}
    for col in out.columns:
        if col in _PERCENT_COLUMNS:
            out[col] = out[col] * 100.0
            renames[col] = PASTE_HEADERS[col]
        elif col.startswith("share_"):
            out[col] = out[col] * 100.0
            renames[col] = _share_header(col)
        elif col in PASTE_HEADERS:
            renames[col] = PASTE_HEADERS[col]
    return out.rename(columns=renames)


def mark_unlocated(tab: pd.DataFrame, unlocated: np.ndarray) -> None:
    """Rows of zones without geometry: 未定位 in the name, no measured numbers (not 0)."""
    if not unlocated.any():
        return
    num = [c for c in tab.columns if pd.api.types.is_numeric_dtype(tab[c])]
    for c in num:
        tab[c] = tab[c].astype(object)
        tab.loc[unlocated, c] = None
    tab.loc[unlocated, "name_zh"] = tab.loc[unlocated, "name_zh"].astype(str) + "（未定位）"


#: What an unplaced zone's number cells read in the report (never 0 nor a dash).
UNLOCATED = "未定位"


def show_unlocated(show: pd.DataFrame) -> pd.DataFrame:
    """The :func:`paste_table` of a zone table with 未定位 in the unmeasured cells of the rows
    :func:`mark_unlocated` marked."""
    name = PASTE_HEADERS["name_zh"]
    if name not in show.columns:
        return show
    rows = show[name].astype(str).str.endswith(f"（{UNLOCATED}）").to_numpy()
    if not rows.any():
        return show
    out = show.copy()
    for c in out.columns:
        if c in (name, PASTE_HEADERS["layer"]):
            continue
        blank = rows & out[c].isna().to_numpy()
        if blank.any():
            out[c] = out[c].astype(object)
            out.loc[blank, c] = UNLOCATED
    return out
