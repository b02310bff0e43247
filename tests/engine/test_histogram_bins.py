"""``histogram_bins`` beyond the histogram's cell budget is an error, not a cap."""

import numpy as np
import pytest

from skquant import ColorQuantizer
from skquant._engine._params import MAX_HISTOGRAM_BINS
from skquant._histogram import MAX_CELLS, Grid


def test_the_largest_bins_fit_the_cell_budget():
    assert MAX_HISTOGRAM_BINS**3 == MAX_CELLS
    grid = Grid([0, 0, 0], [1, 1, 1], bins=MAX_HISTOGRAM_BINS, integer=False)
    assert grid.per_channel == MAX_HISTOGRAM_BINS


@pytest.mark.parametrize("bins", [MAX_HISTOGRAM_BINS + 1, 128, 256])
def test_more_bins_raise_naming_the_value(china, bins):
    quantizer = ColorQuantizer(4, histogram_bins=bins, random_state=0)
    with pytest.raises(ValueError, match=rf"at most 64 .*histogram_bins={bins}"):
        quantizer.fit(china[::8, ::8])


def test_the_largest_bins_fit(china):
    image = china[::4, ::4]
    palette = ColorQuantizer(8, histogram_bins=64, random_state=0).fit(image)
    assert palette.palette_.shape == (8, 3)
    assert np.isfinite(palette.score(image))
