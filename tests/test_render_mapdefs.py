"""Map definitions in maps/: they load, validate, and reference real layers."""

from __future__ import annotations

from pathlib import Path

import pytest

from baoshan_gis._errors import CatalogueError, MapNotFound
from baoshan_gis.render.mapdefs import get_map, load_maps, parse_map

REQUIRED = {"innovation_belt", "wusong", "zhangjiang_park", "metro_corridors",
            "carriers_overview", "density_coverage"}


def test_every_required_map_is_defined_with_bilingual_titles() -> None:
    maps = load_maps()
    assert set(maps) >= REQUIRED
    for md in maps.values():
        assert md.title_zh and md.title_en
        assert any("\u4e00" <= c <= "\u9fff" for c in md.title_zh)
        assert md.layers


def test_maps_use_catalogue_layers_or_analysis_outputs() -> None:
    from baoshan_gis.catalogue import load_catalogue

    known = set(load_catalogue())
    for md in load_maps().values():
        for lyr in md.layers:
            if lyr.kind == "raster" or lyr.source.startswith("analysis_"):
                continue
            assert lyr.source in known, (md.name, lyr.source)


def test_metro_map_says_line_19_is_missing() -> None:
    md = get_map("metro_corridors")
    assert any("19号线" in n and "Line 19" in n for n in md.notes)


def test_unknown_map_lists_the_known_ones() -> None:
    with pytest.raises(MapNotFound) as exc:
        get_map("no_such_map")
    assert "no_such_map" in str(exc.value)
    assert "wusong" in str(exc.value)


def test_invalid_definition_reports_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "other"\ntitle_zh = "图"\npaper = "A5"\ncolour = 1\n'
        '[[layers]]\nlayer = "district"\nraster = "x"\n',
        encoding="utf-8",
    )
    with pytest.raises(CatalogueError) as exc:
        parse_map(bad)
    msg = str(exc.value)
    for needle in ("'title_en'", "'description'", "'other'", "'A5'", "'colour'", "exactly one"):
        assert needle in msg


def test_point_layer_keys_are_parsed_and_validated(tmp_path: Path) -> None:
    head = 'name = "{n}"\ntitle_zh = "图"\ntitle_en = "Map"\ndescription = "d"\n'
    good = tmp_path / "good.toml"
    good.write_text(head.format(n="good") + '[[layers]]\nlayer = "carriers"\n'
                    'accuracy_circles = false\ngroup_within_m = 5\n'
                    '[[layers]]\nlayer = "metro_stations"\n', encoding="utf-8")
    md = parse_map(good)
    assert md.layers[0].accuracy_circles is False and not md.layers[0].draws_accuracy_circles
    assert md.layers[0].group_within_m == 5.0
    assert md.layers[1].group_within_m == 1.0 and not md.layers[1].draws_accuracy_circles
    bad = tmp_path / "bad.toml"
    bad.write_text(head.format(n="bad") + '[[layers]]\nlayer = "carriers"\n'
                   'accuracy_circles = "yes"\ngroup_within_m = -1\n', encoding="utf-8")
    with pytest.raises(CatalogueError) as exc:
        parse_map(bad)
    assert "'accuracy_circles'" in str(exc.value) and "'group_within_m'" in str(exc.value)


def test_shipped_maps_draw_accuracy_circles_for_carriers() -> None:
    maps = load_maps()
    for name in ("carriers_overview", "wusong"):
        lyr = next(lyr for lyr in maps[name].layers if lyr.source == "carriers")
        assert lyr.draws_accuracy_circles
