"""Build the plan's GeoPackage from the layer catalogue, offline and deterministically.

Every layer definition in ``layers/`` is turned into features (curated features through their
geometry recipes, embedded tables through their readers), validated in one pass (all problems are
reported together), and written with its description, provenance row and QGIS default style into
one GeoPackage. The write is atomic: a failed build leaves nothing at the target path (and an
existing file there untouched).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from baoshan_gis import gpkg as _gpkg
from baoshan_gis import settings
from baoshan_gis._errors import BuildError, CatalogueError
from baoshan_gis.catalogue import LayerDef, load_catalogue, unplaced_layer, unplaced_rows
from baoshan_gis.qgis_style import qml_for, sld_for
from baoshan_gis.recipes import RecipeContext, place, to_metric, to_wgs84
from baoshan_gis.style import layer_style

#: Digits kept in stored WGS84 coordinates (1e-7 degrees is about 1 cm).
COORD_PRECISION = 1e-7


@dataclass(frozen=True)
class BuildSummary:
    """What a build wrote: ``(name, title, geometry type, count)`` per layer."""

    path: Path
    layers: tuple[tuple[str, str, str, int], ...]
    #: How each zone the plan defines by a road was drawn (road or station rule).
    road_zones: tuple[str, ...] = ()

    def text(self) -> str:
        """A table for the terminal."""
        width = max(len(n) for n, *_ in self.layers)
        lines = [f"Built {self.path} with {len(self.layers)} layers:"]
        for name, title, gtype, count in self.layers:
            lines.append(f"  {name:<{width}}  {gtype:<13} {count:>4}  {title}")
        if self.road_zones:
            lines.append("Zones the plan defines by roads:")
            lines += [f"  {line}" for line in self.road_zones]
        return "\n".join(lines)


def _road_zone_lines(catalogue: dict[str, LayerDef], built: dict[str, pd.DataFrame]
                     ) -> tuple[str, ...]:
    from baoshan_gis._road_ops import OPS

    out = []
    for name, ldef in catalogue.items():
        for i, feat in enumerate(ldef.features):
            if (feat.get("geometry") or {}).get("op") in OPS and "note" in built[name]:
                row = built[name].iloc[i]
                out.append(f"{name} '{row['name_zh']}': {row['geometry_quality']} "
                           f"(±{row['accuracy_m']:.0f} m) — {row['note']}")
    return tuple(out)


def _truth(ldef: LayerDef, feat: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    row = {k: feat.get(k) for k in settings.TRUTH_FIELDS}
    row["plan_ref"] = feat.get("plan_ref") or ldef.plan_ref
    row["source"] = feat.get("source") or ldef.source
    for f in ldef.fields:
        row[f.name] = feat.get(f.name)
    row.update(overrides)
    return row


def _read_stations(ldef: LayerDef, district_m: shapely.Geometry) -> gpd.GeoDataFrame:
    path = ldef.path.parent / ldef.build["data"]  # type: ignore[union-attr]
    df = pd.read_csv(path, dtype={"osm_id": "Int64"})
    pts = gpd.points_from_xy(df.lon, df.lat, crs=settings.WGS84)
    metric = gpd.GeoSeries(pts).set_crs(settings.WGS84).to_crs(settings.METRIC_CRS)
    fill_en = ldef.build.get("name_en_fill", {})
    rows = []
    for rec, geom_m in zip(df.itertuples(index=False), metric, strict=True):
        rows.append(
            {
                "name_zh": rec.name_zh,
                "name_en": rec.name_en
                if isinstance(rec.name_en, str)
                else fill_en.get(rec.name_zh, ""),
                "category": "metro_station",
                "plan_ref": ldef.plan_ref,
                "status": "existing",
                "source": f"OpenStreetMap node {rec.osm_id}"
                if pd.notna(rec.osm_id)
                else ldef.source,
                "geometry_quality": ldef.build.get("geometry_quality", "surveyed"),
                "accuracy_m": float(ldef.build.get("accuracy_m", 30.0)),
                "osm_id": int(rec.osm_id) if pd.notna(rec.osm_id) else None,
                "line_no": int(rec.line_no),
                "line": rec.line,
                "seq": int(rec.seq),
                "in_district": bool(district_m.contains(geom_m)),
            }
        )
    gdf = gpd.GeoDataFrame(rows, geometry=list(pts), crs=settings.WGS84)
    gdf["osm_id"] = gdf["osm_id"].astype("Int64")
    return gdf


def _lines_from_stations(ldef: LayerDef, stations: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    colours = (ldef.style.get("categories") or {}).get("values", {})
    rows, geoms = [], []
    for line_no, grp in stations.sort_values(["line_no", "seq"]).groupby("line_no", sort=True):
        grp = grp.reset_index(drop=True)
        # Runs of consecutive station numbers; a gap means stations outside the layer's reach.
        run: list[int] = [0]
        runs = []
        for i in range(1, len(grp)):
            if grp.seq[i] == grp.seq[i - 1] + 1:
                run.append(i)
            else:
                runs.append(run)
                run = [i]
        runs.append(run)
        for r in (r for r in runs if len(r) >= 2):
            part = grp.iloc[r]
            line = str(part.line.iloc[0])
            first, last = part.name_zh.iloc[0], part.name_zh.iloc[-1]
            geoms.append(
                shapely.LineString(list(zip(part.geometry.x, part.geometry.y, strict=True)))
            )
            rows.append(
                {
                    "name_zh": f"轨道交通{line}（{first}–{last}，示意）",
                    "name_en": f"Metro Line {line_no} (schematic)",
                    "category": "metro_line",
                    "plan_ref": ldef.plan_ref,
                    "status": "existing",
                    "source": "straight segments between OpenStreetMap station nodes "
                    + ", ".join(str(v) for v in part.osm_id.dropna()),
                    "geometry_quality": ldef.build.get("geometry_quality", "schematic"),
                    "accuracy_m": float(ldef.build.get("accuracy_m", 300.0)),
                    "line_no": int(line_no),
                    "line": line,
                    "color": colours.get(line, ""),
                }
            )
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=settings.WGS84)


def _curated(ldef: LayerDef, ctx: RecipeContext) -> gpd.GeoDataFrame:
    rows, geoms = [], []
    for feat in ldef.features:
        spec = feat.get("geometry")
        if not isinstance(spec, dict):
            raise CatalogueError(
                f"{ldef.name}: feature {feat.get('name_zh')!r} needs a 'geometry' recipe table"
            )
        placed = place(spec, ctx)
        declared = feat.get("accuracy_m")
        if placed.accuracy_m is not None:
            accuracy = max(placed.accuracy_m, placed.min_accuracy_m)
        else:
            accuracy = max(float(declared or 0.0), placed.min_accuracy_m)
        source = feat.get("source") or (
            f"plan text {feat.get('plan_ref') or ldef.plan_ref}; {placed.source}"
            if ldef.geometry_type == "Point"
            else (placed.source if placed.quality else ldef.source)
        )
        extra: dict[str, Any] = {}
        if placed.quality:
            extra["geometry_quality"] = placed.quality
        if placed.note:
            declared_note = feat.get("note") or ""
            if placed.keep_declared_note and declared_note:
                extra["note"] = f"{placed.note}. {declared_note}"
            elif placed.quality or not declared_note:
                extra["note"] = placed.note
            else:
                extra["note"] = f"{declared_note} ({placed.note})"
        rows.append(_truth(ldef, feat, accuracy_m=accuracy, source=source, **extra))
        geom = placed.geometry
        if geom is not None:
            geom = to_wgs84(geom)
            geom = shapely.set_precision(geom, COORD_PRECISION)
            if ldef.geometry_type == "MultiPolygon" and geom.geom_type == "Polygon":
                geom = shapely.MultiPolygon([geom])
        geoms.append(geom)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=settings.WGS84)


def _osm_table(ldef: LayerDef, roads: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    from baoshan_gis.osm_layers import read_embedded

    frame, _manifest = read_embedded(ldef.path.parent, ldef.name)  # type: ignore[union-attr]
    if ldef.name == "roads" and roads is not None and not roads.empty:
        kept = frame[~frame.name_zh.isin(set(roads.name_zh))]
        frame = gpd.GeoDataFrame(pd.concat([kept, roads[frame.columns.intersection(
            roads.columns)]], ignore_index=True), geometry="geometry", crs=settings.WGS84)
    return frame


def _osm_parameters(ldef: LayerDef, frame: pd.DataFrame) -> dict[str, Any]:
    """The embedded manifest's snapshot and origin, and the box the layer's data covers."""
    from baoshan_gis.osm_layers import read_manifest

    manifest = read_manifest(ldef.path.parent)  # type: ignore[union-attr]
    bbox = list(manifest["bbox"])
    if isinstance(frame, gpd.GeoDataFrame) and not frame.empty and ldef.name == "roads":
        b = frame.total_bounds  # a roads file may reach beyond the extract
        bbox = [min(bbox[0], b[0]), min(bbox[1], b[1]), max(bbox[2], b[2]), max(bbox[3], b[3])]
    return {"bbox": [round(float(v), 7) for v in bbox], "snapshot": manifest["snapshot"],
            "origin": manifest["origin"]}


def _district(ldef: LayerDef) -> gpd.GeoDataFrame:
    path = ldef.path.parent / ldef.build["data"]  # type: ignore[union-attr]
    src = gpd.read_file(path)
    geom = shapely.union_all(src.geometry.to_numpy())
    if geom.geom_type == "Polygon":
        geom = shapely.MultiPolygon([geom])
    row = _truth(
        ldef,
        {
            "name_zh": "宝山区",
            "name_en": "Baoshan District",
            "category": "district",
            "status": "existing",
            "geometry_quality": ldef.build.get("geometry_quality", "approximate"),
            "accuracy_m": float(ldef.build.get("accuracy_m", 100.0)),
            "adcode": str(src.get("adcode", pd.Series(["310113"])).iloc[0]),
        },
    )
    return gpd.GeoDataFrame([row], geometry=[geom], crs=settings.WGS84)


def validate_layer(ldef: LayerDef, frame: pd.DataFrame) -> list[str]:
    """Every problem with a built layer, as messages (empty when the layer is valid)."""
    problems: list[str] = []
    if not ldef.is_spatial:
        return problems
    for col in settings.TRUTH_FIELDS:
        if col not in frame.columns:
            problems.append(f"{ldef.name}: truth field {col!r} is missing")
    if problems:
        return problems
    for i, row in frame.iterrows():
        label = f"{ldef.name}[{i}] {row['name_zh']!r}"
        for col in ("name_zh", "name_en", "category", "plan_ref", "source"):
            if not isinstance(row[col], str) or not row[col].strip():
                problems.append(f"{label}: {col} is empty")
        if row["status"] not in settings.STATUSES:
            problems.append(f"{label}: status {row['status']!r} not in {settings.STATUSES}")
        if row["geometry_quality"] not in settings.GEOMETRY_QUALITIES:
            problems.append(
                f"{label}: geometry_quality {row['geometry_quality']!r} "
                f"not in {settings.GEOMETRY_QUALITIES}"
            )
        acc = row["accuracy_m"]
        if not isinstance(acc, int | float) or pd.isna(acc) or acc < 0:
            problems.append(f"{label}: accuracy_m {acc!r} must be a number >= 0")
    geoms = frame.geometry
    bad = geoms[geoms.notna() & ~geoms.is_valid]
    problems += [f"{ldef.name}[{i}]: invalid geometry" for i in bad.index]
    return problems


def recipe_roads(catalogue: dict[str, LayerDef] | None = None) -> list[str]:
    """Every road name a zone recipe of the catalogue looks for, in catalogue order."""
    names: list[str] = []

    def walk(spec: Any) -> None:
        if isinstance(spec, dict):
            for key in ("road", "roads", "continue_with"):
                value = spec.get(key)
                for v in [value] if isinstance(value, str) else (value or []):
                    for n in [v] if isinstance(v, str) else v:
                        if n not in names:
                            names.append(n)
            walk(spec.get("fallback"))

    for ldef in (catalogue or load_catalogue()).values():
        for feat in ldef.features:
            walk(feat.get("geometry"))
    return names


def build_layers(
    catalogue: dict[str, LayerDef] | None = None,
    progress: Callable[[str], None] | None = None,
    *,
    roads: gpd.GeoDataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """Build every layer of the catalogue in memory (WGS84), in order; validate all of them.

    ``roads`` (from :func:`baoshan_gis.inputs.roads.read_roads`) are added to the embedded roads
    layer, replacing embedded roads of the same name, before any zone recipe runs.
    Raises :class:`BuildError` listing every problem found.
    """
    catalogue = catalogue or load_catalogue()
    built: dict[str, pd.DataFrame] = {}
    ctx: RecipeContext | None = None
    metric_layers: dict[str, gpd.GeoDataFrame] = {}
    district_m: shapely.Geometry | None = None
    problems: list[str] = []
    for name, ldef in catalogue.items():
        recipe = ldef.build.get("recipe", "features")
        try:
            if recipe == "geojson":
                frame: pd.DataFrame = _district(ldef)
                district_m = to_metric(frame.geometry.iloc[0])
            elif recipe == "stations_csv":
                if district_m is None:
                    raise CatalogueError("metro_stations must be built after the district")
                frame = _read_stations(ldef, district_m)
                metric = frame.to_crs(settings.METRIC_CRS)
                ctx = RecipeContext(
                    stations=pd.DataFrame(
                        {
                            "line_no": frame.line_no,
                            "name_zh": frame.name_zh,
                            "seq": frame.seq,
                            "osm_id": frame.osm_id,
                            "x": metric.geometry.x,
                            "y": metric.geometry.y,
                        }
                    ),
                    layers=metric_layers,
                )
            elif recipe == "lines_from_stations":
                frame = _lines_from_stations(ldef, built[ldef.build["source_layer"]])
            elif recipe == "osm_table":
                frame = _osm_table(ldef, roads)
            elif recipe == "table":
                frame = pd.DataFrame([{k: v for k, v in f.items()} for f in ldef.features])
            elif recipe == "unplaced":
                frame = unplaced_layer(ldef)
            elif recipe == "features":
                if ctx is None:
                    raise CatalogueError(f"{name}: curated layers need metro_stations built first")
                frame = _curated(ldef, ctx)
            else:
                raise CatalogueError(f"{name}: unknown build recipe {recipe!r}")
        except (CatalogueError, KeyError, ValueError) as exc:
            problems.append(f"{name}: {exc}")
            continue
        problems += validate_layer(ldef, frame)
        built[name] = frame
        if isinstance(frame, gpd.GeoDataFrame):
            metric_layers[name] = frame.set_geometry(
                [None if g is None else to_metric(g) for g in frame.geometry],
                crs=settings.METRIC_CRS,
            )
        if progress:
            progress(name)
    if problems:
        raise BuildError("the layer catalogue has problems:\n  " + "\n  ".join(problems))
    return built


def _is_schematic(frame: pd.DataFrame) -> bool:
    """Whether the layer draws as schematic (any feature is), as the print maps decide."""
    q = frame.get("geometry_quality")
    return bool(q is not None and (q == "schematic").any())


def build_geopackage(
    out: str | os.PathLike[str],
    *,
    progress: Callable[[str], None] | None = None,
    roads: str | os.PathLike[str] | None = None,
) -> BuildSummary:
    """Build every catalogue layer into one GeoPackage at ``out`` (atomically replaced).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from baoshan_gis.build import build_geopackage
    >>> from baoshan_gis import read_layer
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "b.gpkg"
    >>> summary = build_geopackage(path)
    >>> read_layer(path, "district").name_zh.tolist()
    ['宝山区']
    """
    out = Path(out)
    if out.suffix.lower() != ".gpkg":
        raise BuildError(f"output {str(out)!r} must end in .gpkg")
    catalogue = load_catalogue()
    user_roads = None
    if roads is not None:
        from baoshan_gis.inputs.roads import read_roads

        user_roads = read_roads(roads, wanted=recipe_roads(catalogue))
    built = build_layers(catalogue, progress=progress, roads=user_roads)
    summary = []
    try:
        with _gpkg.atomic_path(out, copy_existing=False) as tmp:
            for name, frame in built.items():
                ldef = catalogue[name]
                _gpkg.write_frame(
                    tmp,
                    frame,
                    name,
                    description=f"{ldef.title}. {ldef.description}",
                    identifier=ldef.title,
                )
                osm = ldef.build.get("recipe") == "osm_table"
                _gpkg.write_meta(
                    tmp,
                    name,
                    title_zh=ldef.title_zh,
                    title_en=ldef.title_en,
                    kind="osm" if osm else "plan",
                    plan_ref=ldef.plan_ref,
                    source=ldef.source,
                    licence=ldef.licence,
                    attribution=ldef.attribution,
                    parameters=_osm_parameters(ldef, frame) if osm else None,
                )
                if ldef.is_spatial:
                    st, schem = layer_style(name), _is_schematic(frame)
                    _gpkg.write_style(tmp, name, qml_for(st, schematic=schem),
                                      sld=sld_for(st, name, schematic=schem),
                                      description=ldef.title)
                if ldef.build.get("recipe") == "unplaced":
                    _gpkg.write_frame(tmp, unplaced_rows(ldef), f"{name}_unplaced",
                                      description=f"{ldef.title}: named by the plan, not located")
                    _gpkg.write_meta(tmp, f"{name}_unplaced", title_zh=f"{ldef.title_zh}（未定位）",
                                     title_en=f"{ldef.title_en}: not located yet", kind="plan",
                                     plan_ref=ldef.plan_ref, source=ldef.source,
                                     licence=ldef.licence, attribution=ldef.attribution)
                gtype = ldef.geometry_type if ldef.is_spatial else "table"
                summary.append((name, ldef.title, gtype, len(frame)))
    except OSError as exc:
        raise BuildError(f"could not write {str(out)!r}: {exc}") from exc
    return BuildSummary(out, tuple(summary), _road_zone_lines(catalogue, built))
