"""Shared oracles of the metrics tests: a stand-in quantizer and
scikit-image's CIEDE2000 on sRGB pixels."""

import numpy as np
from skimage import color
from sklearn.base import BaseEstimator, TransformerMixin

from skquant.metrics import mean_delta_e, peak_signal_noise_ratio, structural_similarity

METRICS = [peak_signal_noise_ratio, mean_delta_e, structural_similarity]


class GridQuantizer(TransformerMixin, BaseEstimator):
    """Stand-in quantizer: snaps every value to the centre of a coarse grid.

    ``levels`` values per channel; works on uint8, uint16 and float in
    [0, 1], and on lists of arrays (returned as lists), like ColorQuantizer.
    """

    def __init__(self, levels=4):
        self.levels = levels

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        if isinstance(X, list):
            return [self.transform(x) for x in X]
        X = np.asarray(X)
        full = 1.0 if X.dtype.kind == "f" else float(np.iinfo(X.dtype).max)
        cell = np.minimum(np.floor(X / full * self.levels), self.levels - 1)
        out = (cell + 0.5) * (full / self.levels)
        if X.dtype.kind != "f":
            out = np.rint(out)
        return out.astype(X.dtype)


def skimage_delta_e(true, test):
    true, test = np.asarray(true), np.asarray(test)
    return color.deltaE_ciede2000(
        color.rgb2lab(true[..., :3]), color.rgb2lab(test[..., :3])
    )
