"""
Fit a palette on one image, apply it to others
==============================================

A fitted :class:`~skquant.ColorQuantizer` is a palette that can be reused:
fit it once on a reference image, then map new images onto it. That is how
to give a series of pictures one consistent look, or to quantize many images
without paying for k-means each time.

This example learns a palette on the left half of a photo, applies it to the
right half (same scene) and to a different photo (other colours), and saves
the result as a small indexed PNG.
"""

# %%
import os
import tempfile
import time

import matplotlib.pyplot as plt
from sklearn.datasets import load_sample_image

from skquant import ColorQuantizer
from skquant.io import write_image, write_indexed
from skquant.metrics import mean_delta_e
from skquant.plotting import plot_palette

china = load_sample_image("china.jpg")[::2, ::2]
flower = load_sample_image("flower.jpg")[::2, ::2]
left, right = china[:, :160], china[:, 160:]

# sphinx_gallery_thumbnail_number = 2

# %%
# Fit on the reference
# --------------------
start = time.perf_counter()
quantizer = ColorQuantizer(n_colors=12, color_space="oklab", random_state=0).fit(left)
seconds = time.perf_counter() - start
print(f"fit on {left.shape[1]}x{left.shape[0]} pixels in {seconds:.2f} s")
ax = plot_palette(quantizer.palette_)
ax.set_title("Palette learnt on the left half")

# %%
# Apply it
# --------
# ``transform`` only maps pixels onto the palette: no k-means runs. The right
# half of the same scene comes out well; the flower photo, whose reds and
# greens the palette never saw, does not. Fitting on the flower itself
# (last panel) shows what a palette of its own gives.
own = ColorQuantizer(n_colors=12, color_space="oklab", random_state=0).fit(flower)
panels = [
    ("left half (fitted)", left, quantizer.transform(left)),
    ("right half (new)", right, quantizer.transform(right)),
    ("flower, same palette", flower, quantizer.transform(flower)),
    ("flower, own palette", flower, own.transform(flower)),
]
fig, axes = plt.subplots(1, 4, figsize=(11, 2.9), layout="constrained")
for ax, (title, original, mapped) in zip(axes, panels, strict=True):
    ax.imshow(mapped)
    ax.set_title(f"{title}\nCIEDE2000 {mean_delta_e(original, mapped):.1f}", fontsize=9)
    ax.set_axis_off()

# %%
# Save an indexed image
# ---------------------
# ``predict`` gives the palette index of every pixel; with the palette that
# is everything an indexed PNG stores (one byte per pixel and a colour
# table), usually a fraction of the RGB file.
labels = quantizer.predict(right)
print(labels.shape, labels.dtype, labels.min(), labels.max())
with tempfile.TemporaryDirectory() as folder:
    indexed = os.path.join(folder, "right_indexed.png")
    rgb = os.path.join(folder, "right_rgb.png")
    write_indexed(indexed, labels, quantizer.palette_)
    write_image(rgb, quantizer.inverse_transform(labels))
    print(f"indexed PNG: {os.path.getsize(indexed):6d} bytes")
    print(f"RGB PNG:     {os.path.getsize(rgb):6d} bytes")
