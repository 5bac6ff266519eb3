"""QGIS styles generated from the layer styles parse and carry the categories."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from baoshan_gis.catalogue import load_catalogue
from baoshan_gis.qgis_style import qml_for
from baoshan_gis.style import layer_style


@pytest.mark.parametrize("name", [n for n, d in load_catalogue().items() if d.is_spatial])
def test_qml_parses(name: str) -> None:
    root = ET.fromstring(qml_for(layer_style(name)).split("\n", 1)[1])
    renderer = root.find("renderer-v2")
    assert renderer is not None
    assert root.find("labeling/settings/text-style").get("fieldName") == "name_zh"


def test_categorised_carriers_have_one_symbol_per_category() -> None:
    style = layer_style("carriers")
    root = ET.fromstring(qml_for(style).split("\n", 1)[1])
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "category"
    values = [c.get("value") for c in renderer.iter("category")]
    assert values == list(style["categories"]["values"])
    assert len(list(renderer.iter("symbol"))) == len(values)
