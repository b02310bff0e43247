"""Palettes and labels on real photos are the same as when they were pinned.

Code that moves (the restructuring) must not change what users get; a change
that does is a bug fix or an improvement that regenerates the file
(``python -m tests._pinned``) and names the difference in its commit.
"""

import numpy as np
import pytest

from tests._pinned import CONFIGS, PINNED, outputs


@pytest.fixture(scope="module")
def current():
    return outputs()


@pytest.fixture(scope="module")
def pinned():
    with np.load(PINNED) as stored:
        return dict(stored)


@pytest.mark.parametrize("photo", ["china", "astronaut"])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_same_palette_and_labels(current, pinned, photo, config):
    key = f"{photo}/{config}"
    np.testing.assert_allclose(
        current[f"{key}/palette"], pinned[f"{key}/palette"], rtol=0, atol=1e-6
    )
    labels, expected = current[f"{key}/labels"], pinned[f"{key}/labels"]
    assert labels.shape == expected.shape
    changed = np.mean(labels != expected)
    assert changed == 0, f"{key}: {changed:.4%} of the labels changed"
