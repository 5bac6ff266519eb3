"""Metro line colours stay distinguishable on maps (issue 10.6: Lines 15 and 18 were near twins)."""

from __future__ import annotations

import itertools
import tomllib
from pathlib import Path

import numpy as np

LINES_TOML = Path(__file__).resolve().parents[1] / "layers" / "metro_lines.toml"


def _lab(hex_colour: str) -> np.ndarray:
    """CIELAB (D65) of an sRGB hex colour."""
    rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    lin = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ lin / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_lab_conversion_known_values() -> None:
    assert np.allclose(_lab("#ffffff"), [100, 0, 0], atol=0.1)
    assert np.allclose(_lab("#ff0000"), [53.2, 80.1, 67.2], atol=0.3)


def test_every_pair_of_line_colours_is_distinguishable() -> None:
    values = tomllib.loads(LINES_TOML.read_text(encoding="utf-8"))["style"]["categories"]["values"]
    assert {"15号线", "18号线"} <= set(values)
    for (a, ca), (b, cb) in itertools.combinations(values.items(), 2):
        delta = float(np.linalg.norm(_lab(ca) - _lab(cb)))
        # CIE76 ΔE above 10 reads as a different colour side by side at line width
        assert delta > 10, f"{a} {ca} and {b} {cb} differ by ΔE {delta:.1f} only"
