"""
Posterize in a scikit-learn Pipeline
====================================

:class:`~skquant.ColorQuantizer` is an ordinary scikit-learn transformer, so
it composes with others in a :class:`~sklearn.pipeline.Pipeline`. Here a
median filter smooths away fine texture before quantizing, which gives the
flat, clean regions of a poster; the pipeline is one estimator that can be
fitted, cloned, tuned with ``set_params`` and applied to new images.
"""

# %%
import matplotlib.pyplot as plt
from scipy.ndimage import median_filter
from sklearn.base import clone
from sklearn.datasets import load_sample_image
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from skquant import ColorQuantizer


def smooth(image, size=3):
    """Median filter over each channel; keeps the image's shape and dtype."""
    return median_filter(image, size=(size, size, 1))


china = load_sample_image("china.jpg")[::2, ::2]
flower = load_sample_image("flower.jpg")[::2, ::2]

# %%
# The pipeline
# ------------
# ``FunctionTransformer(validate=False)`` passes the ``(H, W, 3)`` image
# through untouched by scikit-learn's input checks; the quantizer accepts
# images as they are.
poster = Pipeline(
    [
        ("smooth", FunctionTransformer(smooth, validate=False)),
        ("quantize", ColorQuantizer(n_colors=6, color_space="oklab", random_state=0)),
    ]
)
poster.fit(china)
print(poster.named_steps["quantize"].palette_)

# %%
# Compare with quantizing alone
# -----------------------------
plain = ColorQuantizer(n_colors=6, color_space="oklab", random_state=0)
fig, axes = plt.subplots(1, 3, figsize=(10, 2.6), layout="constrained")
for ax, (title, image) in zip(
    axes,
    [
        ("original", china),
        ("6 colours", plain.fit_transform(china)),
        ("median filter + 6 colours", poster.transform(china)),
    ],
    strict=True,
):
    ax.imshow(image)
    ax.set_title(title)
    ax.set_axis_off()

# %%
# Tune and reuse
# --------------
# Parameters of the steps are reached with ``step__parameter`` names, as in
# any pipeline; :func:`~sklearn.base.clone` gives an unfitted copy, here
# fitted on another photo: one with a wider filter and fewer colours, one
# with more colours.
bolder = clone(poster).set_params(smooth__kw_args={"size": 7}, quantize__n_colors=4)
softer = clone(poster).set_params(quantize__n_colors=12)
fig, axes = plt.subplots(1, 2, figsize=(7, 2.6), layout="constrained")
for ax, (title, model) in zip(
    axes, [("size 7, 4 colours", bolder), ("size 3, 12 colours", softer)], strict=True
):
    ax.imshow(model.fit_transform(flower))
    ax.set_title(title)
    ax.set_axis_off()
