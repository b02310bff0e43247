"""
Colour spaces: where the palette spends its colours
===================================================

k-means groups colours that are close, so "close" decides the palette. In
``color_space='rgb'`` closeness is the distance between sRGB values; in
``'lab'`` (CIELAB), ``'oklab'`` (OKLab) and ``'din99o'`` (DIN99o) it follows
perceived colour differences; ``'perceptual'`` lies part way from sRGB to
DIN99o. This example fits 16-colour palettes of one photo in the five
spaces and compares them by eye and with two metrics.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_sample_image

from skquant import ColorQuantizer
from skquant.metrics import mean_delta_e, peak_signal_noise_ratio
from skquant.plotting import plot_palette

# %%
# ``flower.jpg`` from scikit-learn: bright orange petals against dark teal
# leaves, a good test of where a small palette goes.
flower = load_sample_image("flower.jpg")[::2, ::2]
spaces = ["rgb", "lab", "oklab", "din99o", "perceptual"]
quantizers = {
    space: ColorQuantizer(n_colors=16, color_space=space, random_state=0).fit(flower)
    for space in spaces
}

fig = plt.figure(figsize=(15, 2.9), layout="constrained")
grid = fig.add_gridspec(2, 6, height_ratios=(5, 1))
ax = fig.add_subplot(grid[0, 0])
ax.imshow(flower)
ax.set_title("original")
ax.set_axis_off()
for column, space in enumerate(spaces, start=1):
    quantizer = quantizers[space]
    result = quantizer.transform(flower)
    ax = fig.add_subplot(grid[0, column])
    ax.imshow(result)
    ax.set_title(
        f"{space}\nPSNR {peak_signal_noise_ratio(flower, result):.2f} dB, "
        f"CIEDE2000 {mean_delta_e(flower, result):.2f}",
        fontsize=9,
    )
    ax.set_axis_off()
    plot_palette(quantizer.palette_, ax=fig.add_subplot(grid[1, column]))

# %%
# Reading the numbers
# -------------------
# PSNR measures error in sRGB values, the quantity ``'rgb'`` minimises, so
# ``'rgb'`` wins on PSNR. The mean CIEDE2000 measures perceived colour
# differences. Euclidean distances in DIN99o follow CIEDE2000 closely, so
# ``'din99o'`` gives the lowest CIEDE2000 on most photos, CIELAB usually
# comes next, OKLab sits between the perceptual spaces and ``'rgb'``.
# ``'perceptual'`` gives up a little of ``'rgb'``'s PSNR for a clearly lower
# CIEDE2000: on most photos it beats libimagequant on both measures (see
# the colour-space guide). Which one looks best is a matter of the image and
# of taste: compare the petals and the dark leaves.
for space, quantizer in quantizers.items():
    result = quantizer.transform(flower)
    print(
        f"{space:10s} PSNR {peak_signal_noise_ratio(flower, result):5.2f} dB   "
        f"CIEDE2000 {mean_delta_e(flower, result):5.2f}"
    )

# %%
# ``palette_`` is always in the photo's own units: here ``uint8`` sRGB, in
# every colour space.
print(quantizers["oklab"].palette_.dtype, quantizers["oklab"].palette_[:3])
