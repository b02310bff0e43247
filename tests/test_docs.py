"""Build the documentation, gallery included, and fail on any warning."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

NEEDED = ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme", "matplotlib")


def test_docs_build_without_warnings(tmp_path):
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"docs dependencies missing: {missing}; pip install '.[docs]'")
    env = dict(os.environ, MPLBACKEND="Agg")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(ROOT / "docs"),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    html = tmp_path / "html"
    for page in [
        "index.html",
        "install.html",
        "quickstart.html",
        "user_guide/cli.html",
        "api.html",
        "generated/skquant.ColorQuantizer.html",
        "generated/skquant.plotting.plot_palette.html",
        "auto_examples/index.html",
        "auto_examples/plot_quantize_photo.html",
    ]:
        assert (html / page).is_file(), page
    assert (html / "_images" / "before_after.png").is_file()
    gallery_images = list((html / "_images").glob("sphx_glr_plot_*_001.png"))
    assert len(gallery_images) >= 8
    assert "--shared-palette" in (html / "user_guide" / "cli.html").read_text()
