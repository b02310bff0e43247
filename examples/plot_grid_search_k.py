"""
Grid-search the number of colours
=================================

An animation, a sprite sheet or a video needs one palette for all its
frames, and a palette size ``K`` that still looks good on frames the palette
was not fitted on. Treat the frames as a data set, each frame one sample:
:class:`~sklearn.model_selection.GridSearchCV` fits the quantizer on some
frames and scores it on the others, with the quality scorers of
:mod:`skquant.metrics`.

More colours always score better, so "the best score" is not the question.
Two ways to ask the right one are shown: the fewest colours that reach a
quality target (:func:`skquant.metrics.fewest_colors`), and a score that
charges for every bit of palette index
(:func:`skquant.metrics.make_rate_distortion_scorer`).
"""

# %%
# The frames
# ----------
# A slow pan across ``china.jpg``: nine frames of 96 x 144 pixels, stacked
# into one batch of shape ``(9, 96, 144, 3)``. The splitter treats each frame
# as one sample (a list of images of different sizes works too).
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_sample_image
from sklearn.model_selection import GridSearchCV, KFold

from skquant import ColorQuantizer
from skquant.metrics import fewest_colors, make_rate_distortion_scorer, psnr_scorer

china = load_sample_image("china.jpg")
frames = np.stack(
    [china[60 + 24 * i : 156 + 24 * i, 50 * i : 50 * i + 144] for i in range(9)]
)
print(frames.shape)

fig, axes = plt.subplots(1, 9, figsize=(11, 1.3), layout="constrained")
for i, (ax, frame) in enumerate(zip(axes, frames, strict=True)):
    ax.imshow(frame)
    ax.set_title(f"frame {i + 1}", fontsize=8)
    ax.set_axis_off()

# sphinx_gallery_thumbnail_number = 2

# %%
# The search
# ----------
# Each of the 3 folds fits a palette on 6 frames and scores the 3 others.
# Two scores are recorded: the PSNR, and the PSNR minus 2.5 dB per bit of
# palette index (``log2(K)`` bits per pixel). ``refit=fewest_colors(28,
# scorer="psnr")`` then picks the smallest K whose mean held-out PSNR is at
# least 28 dB and refits it on all the frames.
sizes = [4, 8, 16, 32, 64]
search = GridSearchCV(
    ColorQuantizer(random_state=0),
    {"n_colors": sizes},
    scoring={"psnr": psnr_scorer, "rate": make_rate_distortion_scorer(2.5)},
    refit=fewest_colors(28.0, scorer="psnr"),
    cv=KFold(3, shuffle=True, random_state=0),
)
search.fit(frames)
print("fewest colours reaching 28 dB:", search.best_params_["n_colors"])

results = search.cv_results_
by_rate = sizes[int(np.argmax(results["mean_test_rate"]))]
print("best trade-off at 2.5 dB per bit:", by_rate)

# %%
# PSNR against K
# --------------
# Every doubling of the palette buys about 2.5 to 3 dB here. The target line
# gives the first choice; the trade-off score peaks where a doubling stops
# paying 2.5 dB.
fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
ax.errorbar(
    sizes,
    results["mean_test_psnr"],
    yerr=results["std_test_psnr"],
    fmt="o-",
    capsize=3,
    label="held-out PSNR",
)
ax.plot(sizes, results["mean_test_rate"], "s--", label="PSNR - 2.5 dB/bit")
ax.axhline(28, color="gray", linestyle=":", label="target 28 dB")
ax.axvline(search.best_params_["n_colors"], color="tab:green", label="fewest_colors")
ax.set_xscale("log", base=2)
ax.set_xticks(sizes, [str(k) for k in sizes])
ax.set_xlabel("n_colors")
ax.set_ylabel("score (dB)")
ax.legend(loc="lower right", fontsize=8)

# %%
# The refitted quantizer
# ----------------------
# ``best_estimator_`` was fitted on all nine frames: one palette, ready for
# every frame, for example to write an animated GIF with
# :func:`skquant.io.write_animated_gif`.
best = search.best_estimator_
labels = best.predict(frames)
print(best.n_colors_, best.palette_.shape, labels.shape)

# %%
# For a single image, :func:`skquant.select_n_colors` answers the same
# question much faster, without cross-validation:
from skquant import select_n_colors  # noqa: E402

single = select_n_colors(frames[4], min_psnr=28.0, random_state=0)
print("frame 5 alone needs", single.n_colors_, "colours for 28 dB")
