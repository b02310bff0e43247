"""Shared oracles of the metrics tests: a stand-in quantizer,
scikit-image's CIEDE2000 on sRGB pixels and the CIEDE2000 test pairs of
Sharma, Wu and Dalal (2005)."""

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


#: Table 1 of G. Sharma, W. Wu and E. N. Dalal, "The CIEDE2000
#: color-difference formula: implementation notes, supplementary test data,
#: and mathematical observations", Color Research & Application 30(1),
#: 21-30, 2005: 34 CIELAB pairs (L1, a1, b1, L2, a2, b2) chosen to cross
#: every branch of the formula (mean hue across 0/360, opposite hues, greys,
#: the hue rotation), and their CIEDE2000 (kL = kC = kH = 1) to 4 decimals.
SHARMA_2005 = np.array(
    [
        [50.0, 2.6772, -79.7751, 50.0, 0.0, -82.7485, 2.0425],
        [50.0, 3.1571, -77.2803, 50.0, 0.0, -82.7485, 2.8615],
        [50.0, 2.8361, -74.0200, 50.0, 0.0, -82.7485, 3.4412],
        [50.0, -1.3802, -84.2814, 50.0, 0.0, -82.7485, 1.0000],
        [50.0, -1.1848, -84.8006, 50.0, 0.0, -82.7485, 1.0000],
        [50.0, -0.9009, -85.5211, 50.0, 0.0, -82.7485, 1.0000],
        [50.0, 0.0, 0.0, 50.0, -1.0, 2.0, 2.3669],
        [50.0, -1.0, 2.0, 50.0, 0.0, 0.0, 2.3669],
        [50.0, 2.49, -0.001, 50.0, -2.49, 0.0009, 7.1792],
        [50.0, 2.49, -0.001, 50.0, -2.49, 0.0010, 7.1792],
        [50.0, 2.49, -0.001, 50.0, -2.49, 0.0011, 7.2195],
        [50.0, 2.49, -0.001, 50.0, -2.49, 0.0012, 7.2195],
        [50.0, -0.001, 2.49, 50.0, 0.0009, -2.49, 4.8045],
        [50.0, -0.001, 2.49, 50.0, 0.0010, -2.49, 4.8045],
        [50.0, -0.001, 2.49, 50.0, 0.0011, -2.49, 4.7461],
        [50.0, 2.5, 0.0, 50.0, 0.0, -2.5, 4.3065],
        [50.0, 2.5, 0.0, 73.0, 25.0, -18.0, 27.1492],
        [50.0, 2.5, 0.0, 61.0, -5.0, 29.0, 22.8977],
        [50.0, 2.5, 0.0, 56.0, -27.0, -3.0, 31.9030],
        [50.0, 2.5, 0.0, 58.0, 24.0, 15.0, 19.4535],
        [50.0, 2.5, 0.0, 50.0, 3.1736, 0.5854, 1.0000],
        [50.0, 2.5, 0.0, 50.0, 3.2972, 0.0, 1.0000],
        [50.0, 2.5, 0.0, 50.0, 1.8634, 0.5757, 1.0000],
        [50.0, 2.5, 0.0, 50.0, 3.2592, 0.3350, 1.0000],
        [60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644],
        [63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630],
        [61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731],
        [35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645],
        [22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373],
        [36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146],
        [90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441],
        [90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381],
        [6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377],
        [2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082],
    ]
)
