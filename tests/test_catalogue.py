"""Layer definitions: parsing, validation messages, lookup."""

from __future__ import annotations

from pathlib import Path

import pytest

from baoshan_gis._errors import CatalogueError, LayerNotFound
from baoshan_gis.catalogue import get_layer_def, load_catalogue


def test_catalogue_is_ordered_and_complete() -> None:
    cat = load_catalogue()
    names = list(cat)
    assert names[0] == "district"
    assert names.index("metro_stations") < names.index("innovation_belt") < names.index("carriers")
    for ldef in cat.values():
        assert ldef.title_zh and ldef.title_en and ldef.attribution and ldef.licence


def test_unknown_layer_lists_known_names() -> None:
    with pytest.raises(LayerNotFound, match=r"no layer named 'nope'.*carriers"):
        get_layer_def("nope")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "x"\n', "missing key 'title_zh'"),
        ("name = [", "not valid TOML"),
        (
            'name = "x"\ntitle_zh="a"\ntitle_en="b"\ngeometry_type="Blob"\nplan_ref="p"\n'
            'source="s"\nlicence="l"\nattribution="a"\ndescription="d"\n',
            "geometry_type 'Blob' is not one of",
        ),
        (
            'name = "y"\ntitle_zh="a"\ntitle_en="b"\ngeometry_type="Point"\nplan_ref="p"\n'
            'source="s"\nlicence="l"\nattribution="a"\ndescription="d"\n',
            "name 'y' differs from the file name 'x'",
        ),
    ],
)
def test_malformed_definitions_are_reported(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "x.toml").write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueError, match=message):
        load_catalogue(tmp_path)
