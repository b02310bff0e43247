"""Fixtures of the metrics tests."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def noisy_pair():
    """Astronaut crop and a noisy copy (uint8)."""
    from skimage import data

    image = data.astronaut()[100:300, 150:400]
    rng = np.random.default_rng(0)
    noise = rng.integers(-25, 26, size=image.shape)
    noisy = np.clip(image.astype(int) + noise, 0, 255).astype(np.uint8)
    return image, noisy
