"""
Quantize a photo at several palette sizes
=========================================

How many colours does a photograph need? This example reduces one photo to
2, 4, ... 64 colours, looks at the results, and measures how quality grows
with the palette size ``K``, with the PSNR and the mean CIEDE2000 colour
difference from :mod:`skquant.metrics`.
"""

# %%
# The photo
# ---------
# ``china.jpg`` ships with scikit-learn. It is a ``(427, 640, 3)`` ``uint8``
# array; taking every second pixel keeps this example quick.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_sample_image

from skquant import ColorQuantizer
from skquant.metrics import mean_delta_e, peak_signal_noise_ratio
from skquant.plotting import plot_palette

china = load_sample_image("china.jpg")[::2, ::2]
print(
    china.shape,
    china.dtype,
    "distinct colours:",
    len(np.unique(china.reshape(-1, 3), axis=0)),
)

# %%
# One quantizer per palette size
# ------------------------------
# ``fit`` learns the palette with k-means, ``transform`` replaces every pixel
# by its nearest palette colour. The result keeps the shape and dtype of the
# photo.
sizes = [2, 4, 8, 16, 32, 64]
quantizers, results = {}, {}
for k in sizes:
    quantizers[k] = ColorQuantizer(n_colors=k, random_state=0).fit(china)
    results[k] = quantizers[k].transform(china)

fig, axes = plt.subplots(2, 3, figsize=(10, 4.6), layout="constrained")
for ax, k in zip(axes.flat, sizes, strict=True):
    ax.imshow(results[k])
    ax.set_title(f"K = {k}")
    ax.set_axis_off()

# %%
# Quality against palette size
# ----------------------------
# PSNR (higher is better) grows by a few decibels each time the palette
# doubles; the mean CIEDE2000 (lower is better, about 1 is just noticeable)
# falls quickly up to 16 colours and slowly after that.
psnr = [peak_signal_noise_ratio(china, results[k]) for k in sizes]
delta_e = [mean_delta_e(china, results[k]) for k in sizes]
for k, p, d in zip(sizes, psnr, delta_e, strict=True):
    print(f"K={k:3d}  PSNR {p:5.2f} dB  mean CIEDE2000 {d:5.2f}")

fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
ax.plot(sizes, psnr, "o-", color="tab:blue")
ax.set_xscale("log", base=2)
ax.set_xticks(sizes, [str(k) for k in sizes])
ax.set_xlabel("palette size K")
ax.set_ylabel("PSNR (dB)", color="tab:blue")
other = ax.twinx()
other.plot(sizes, delta_e, "s--", color="tab:red")
other.set_ylabel("mean CIEDE2000", color="tab:red")
ax.set_title("Quality of the quantized photo")

# %%
# The palette
# -----------
# ``palette_`` lists the colours most used first, in the photo's dtype.
ax = plot_palette(quantizers[16].palette_, labels=True)
ax.set_title("K = 16, most used colour first")

# %%
# In one line
# -----------
# When the palette itself is not needed, :func:`skquant.quantize` does the
# same in one call.
from skquant import quantize  # noqa: E402

poster = quantize(china, 16, random_state=0)
print(np.array_equal(poster, results[16]))
