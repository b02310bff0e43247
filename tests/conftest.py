import numpy as np
import pytest
from skimage import data
from sklearn.datasets import load_sample_image


@pytest.fixture(scope="session")
def china():
    return load_sample_image("china.jpg")


@pytest.fixture(scope="session")
def flower():
    return load_sample_image("flower.jpg")


@pytest.fixture(scope="session")
def astronaut():
    return data.astronaut()


@pytest.fixture(scope="session")
def coffee():
    return data.coffee()


@pytest.fixture(scope="session")
def photos(china, flower, astronaut, coffee):
    """Four real photographs of different sizes (uint8 RGB)."""
    return [china, flower, astronaut, coffee]


def psnr(a, b, data_range=255.0):
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return 10 * np.log10(data_range**2 / mse)


@pytest.fixture(scope="session")
def small_photos(photos):
    """The four photos at half resolution, for searches that fit many times."""
    return [np.ascontiguousarray(p[::2, ::2]) for p in photos]
