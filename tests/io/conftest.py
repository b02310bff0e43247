"""Fixtures of the io tests: real photos and a quantized one."""

import numpy as np
import pytest
from PIL import GifImagePlugin, Image
from skimage import data
from sklearn.datasets import load_sample_image


@pytest.fixture(scope="module")
def astro():
    return data.astronaut()


@pytest.fixture(scope="module")
def china_photo():
    return load_sample_image("china.jpg")


@pytest.fixture(scope="module")
def astro_quantized(astro):
    """Labels (512, 512) and a 64-colour uint8 palette of a real photo."""
    quantized = Image.fromarray(astro).quantize(64)
    labels = np.array(quantized)
    palette = np.array(quantized.getpalette()[: 64 * 3], np.uint8).reshape(64, 3)
    return labels, palette


@pytest.fixture
def gif_keeps_palette_mode(monkeypatch):
    """Make Pillow keep later GIF frames in mode "P" when the palette is shared."""
    monkeypatch.setattr(
        GifImagePlugin,
        "LOADING_STRATEGY",
        GifImagePlugin.LoadingStrategy.RGB_AFTER_DIFFERENT_PALETTE_ONLY,
    )
