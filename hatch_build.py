"""Hatch build hook: compiles the project's Cython kernels (network search, MVT ring, line and
feature-record encoders).

It runs for wheels and editable installs (``pip install -e .``), builds the extension in place
next to its ``.pyx`` (so an editable install imports it from the source tree) and, for a normal
wheel, adds it to the wheel. Without a C compiler the build goes on with a warning: network reach
then falls back to scipy's Dijkstra, and polygon and line tiles to GEOS and the Python encoders
(same results, slower), and ``tests/test_dijkstra_kernel.py``, ``tests/test_mvt_rings.py`` and
``tests/test_mvt_lines.py`` / ``tests/test_mvt_records.py`` fail, so CI notices.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

KERNELS = {
    "baoshan_gis.analysis._dijkstra": "baoshan_gis/analysis/_dijkstra.pyx",
    "baoshan_gis.tiles._mvt_rings": "baoshan_gis/tiles/_mvt_rings.pyx",
    "baoshan_gis.tiles._mvt_lines": "baoshan_gis/tiles/_mvt_lines.pyx",
    "baoshan_gis.tiles._mvt_records": "baoshan_gis/tiles/_mvt_records.pyx",
}


class CythonKernels(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return  # the sdist ships the .pyx sources
        root = Path(self.root)
        cwd = os.getcwd()
        os.chdir(root)
        try:
            built = self._compile()
        except Exception as exc:  # no compiler or headers: the scipy fallback still works
            print(f"warning: the compiled kernels were not built ({exc}); network reach and "
                  "polygon and line tiles fall back to scipy, GEOS and Python (same results, "
                  "slower)",
                  file=sys.stderr)
            return
        finally:
            os.chdir(cwd)
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":  # an editable install imports it from the source tree
            for path in built:
                build_data["force_include"][str(root / path)] = path

    @staticmethod
    def _compile() -> list[str]:
        from Cython.Build import cythonize
        from setuptools import Distribution, Extension

        exts = [Extension(name, [src], extra_compile_args=["-O3"]) for name, src in KERNELS.items()]
        dist = Distribution({"ext_modules": cythonize(exts, build_dir="build/cython", quiet=True,
                                                      language_level=3),
                             "script_name": "hatch_build.py"})
        cmd = dist.get_command_obj("build_ext")
        cmd.inplace = True
        cmd.build_temp = "build/temp"
        cmd.ensure_finalized()
        cmd.run()
        return [os.path.relpath(cmd.get_ext_fullpath(e.name)) for e in dist.ext_modules]
