"""Quality metrics for quantized images, and scorers for model selection.

Metrics compare a reference image with a test image, scikit-image style:
``metric(image_true, image_test, *, data_range=None)``. Images have their
channels on the last axis. Every metric also takes two lists of images
(which may differ in size) and compares them pairwise.

Data contract
-------------
- ``uint8`` and ``uint16`` images have the full scale 255 and 65535.
- Float images are on a 0-1 scale (sRGB in [0, 1] for CIEDE2000) unless
  ``data_range`` says otherwise. Without ``data_range``, float data that
  clearly leaves [0, 1] (a value above 1.25 or below -0.25, as in a 0-255
  image converted with ``astype(np.float32)``) is refused with a
  ``ValueError``: divide it by 255, convert it to ``uint8``, or pass
  ``data_range=255``. Small excursions, such as resampling overshoot, are
  accepted. The estimator follows the same rule for the perceptual colour
  spaces (``skquant._image.FLOAT_SLACK``).
- Other dtypes need an explicit ``data_range``.
- Transparency: 4 channels on the last axis are RGBA. Pixels that are fully
  transparent in ``image_true`` (alpha 0) are left out of every metric:
  nothing of them is visible, and a quantizer returns them as transparent
  black. Other pixels count fully, whatever their alpha (no weighting).

Scorers follow scikit-learn's ``scorer(estimator, X, y=None)`` protocol
(higher is better): they quantize ``X`` with ``estimator.transform`` and
score the result against ``X``, so they can be passed as ``scoring=`` to
:class:`~sklearn.model_selection.GridSearchCV`.

Metrics
-------
peak_signal_noise_ratio
    PSNR in decibels.
mean_delta_e
    Mean CIEDE2000 colour difference.
structural_similarity
    Mean structural similarity (SSIM).

Scorers
-------
psnr_scorer, delta_e_scorer, ssim_scorer
    Also available by name from :func:`get_scorer`.
make_rate_distortion_scorer
    PSNR minus a price per bit of palette index, so a grid search over
    ``n_colors`` stops where more colours stop paying.

Choosing the number of colours
------------------------------
fewest_colors
    A ``refit`` callable for :class:`~sklearn.model_selection.GridSearchCV`
    that picks the smallest ``n_colors`` reaching a quality target.
"""

from skquant.metrics._image import (
    mean_delta_e,
    peak_signal_noise_ratio,
    structural_similarity,
)
from skquant.metrics._scorers import (
    delta_e_scorer,
    fewest_colors,
    get_scorer,
    make_rate_distortion_scorer,
    psnr_scorer,
    ssim_scorer,
)

__all__ = [
    "delta_e_scorer",
    "fewest_colors",
    "make_rate_distortion_scorer",
    "get_scorer",
    "mean_delta_e",
    "peak_signal_noise_ratio",
    "psnr_scorer",
    "ssim_scorer",
    "structural_similarity",
]
