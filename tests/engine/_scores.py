"""Scores of a palette by outside oracles, shared by the perceptual tests."""

import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab

from skquant import ColorQuantizer


def blended_score(photo, n_colors, random_state):
    """``log(mean CIEDE2000) + log(MSE)`` of a ``'perceptual'`` fit of
    ``photo`` (scikit-image's CIEDE2000, the squared sRGB error of the
    output): lower is better on both measures together."""
    q = ColorQuantizer(n_colors, color_space="perceptual", random_state=random_state)
    out = q.fit_transform(photo)
    mse = np.mean((photo.astype(np.float64) - out) ** 2)
    de = deltaE_ciede2000(rgb2lab(photo), rgb2lab(out)).mean()
    return np.log(de) + np.log(mse)
