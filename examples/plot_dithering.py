"""
Dithering: trading bands for texture
====================================

With few colours, smooth gradients such as a sky turn into visible bands.
Dithering chooses neighbouring pixels so that their average stays close to
the original colour. This example quantizes a smooth gradient and a photo to
a handful of colours with and without dithering, and shows the cost in PSNR
against the gain in how the picture reads.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from scipy.ndimage import uniform_filter
from skimage import data
from skimage.color import rgb2lab
from skimage.filters import gaussian

from skquant import ColorQuantizer
from skquant.metrics import peak_signal_noise_ratio

# sphinx_gallery_thumbnail_number = 2

# %%
# A gradient
# ----------
# A ramp from dark blue to orange, quantized to 4 colours. Without dithering
# it becomes 4 flat bands; every method keeps the same 4 colours but mixes
# them so that the ramp shows again.
width = 256
t = np.linspace(0.0, 1.0, width)
ramp = np.stack([0.1 + 0.85 * t, 0.15 + 0.45 * t, 0.45 - 0.35 * t], axis=-1)
gradient = np.repeat((ramp * 255).astype(np.uint8)[np.newaxis], 40, axis=0)

methods = [None, "floyd-steinberg", "atkinson", "jarvis-judice-ninke", "bayer"]
fig, axes = plt.subplots(len(methods) + 1, 1, figsize=(7, 5.5), layout="constrained")
axes[0].imshow(gradient)
axes[0].set_title("original", fontsize=9)
for ax, method in zip(axes[1:], methods, strict=True):
    quantizer = ColorQuantizer(n_colors=4, dither=method, random_state=0)
    ax.imshow(quantizer.fit_transform(gradient), interpolation="nearest")
    ax.set_title(f"4 colours, dither={method!r}", fontsize=9)
for ax in axes:
    ax.set_axis_off()

# %%
# A photo at 8 colours
# --------------------
# ``coffee`` from scikit-image, with its smooth shading on the cup and the
# saucer. Error diffusion (Floyd-Steinberg) gives fine noise; ordered
# dithering (Bayer) a regular pattern whose pixels do not depend on their
# neighbours, which keeps animations from shimmering.
#
# The palette is the same in all three images: only the choice of palette
# colour for each pixel changes. ``dither`` is fixed when a quantizer is
# fitted, like every parameter, so each method maps onto the learnt palette
# given as ``palette=``.
coffee = data.coffee()[::2, ::2]
quantizer = ColorQuantizer(n_colors=8, random_state=0).fit(coffee)
versions = {"original": coffee}
for method in [None, "floyd-steinberg", "bayer"]:
    dithering = ColorQuantizer(palette=quantizer.palette_, dither=method)
    versions[f"dither={method!r}"] = dithering.fit_transform(coffee)


def blurred(image):
    """What the eye sees from a little further away: a slight blur."""
    return gaussian(image, sigma=1.0, channel_axis=-1)


fig, axes = plt.subplots(2, 2, figsize=(8, 6.4), layout="constrained")
for ax, (title, image) in zip(axes.flat, versions.items(), strict=True):
    ax.imshow(image, interpolation="nearest")
    if title != "original":
        sharp = peak_signal_noise_ratio(coffee, image)
        soft = peak_signal_noise_ratio(blurred(coffee), blurred(image))
        title += f"\nPSNR {sharp:.2f} dB, after a blur {soft:.2f} dB"
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()

# %%
# Pixel by pixel, dithering scores lower: a dithered pixel is often farther
# from the original than the nearest palette colour would be. Compared after
# a slight blur, which averages neighbours as the eye does from a normal
# viewing distance, error diffusion scores higher than plain mapping. PSNR
# alone does not tell whether to dither; look at the pictures.

# %%
# Strength and calm flat areas
# ----------------------------
# ``dither_strength`` (0 to 1, pngquant's ``--floyd=0.5``) scales the error
# each pixel passes on: 0 is the undithered mapping, lower values trade some
# banding for less noise. ``dither_adaptive`` (on by default; ``False`` is
# plain error diffusion) lets each pixel pass on
# its own error but only part of the error carried into it, less where the
# photo is flat (over a 6 x 6 window) than where it has texture, so that
# flat areas keep fewer dots of distant palette colours. The crop is the saucer of
# ``coffee`` at 16 colours; the numbers are the noise on its flat areas (the
# high-frequency part of the CIELAB error, as ``benchmarks/bench_dither.py``
# measures it).
crop = data.coffee()[220:360, 20:260]
palette = ColorQuantizer(n_colors=16, random_state=0).fit(crop).palette_
lab = rgb2lab(crop)
spread = uniform_filter(lab**2, (7, 7, 1)) - uniform_filter(lab, (7, 7, 1)) ** 2
flat = np.sqrt(np.clip(spread, 0, None).sum(axis=-1)) < 1.5


def flat_noise(image):
    error = rgb2lab(image) - lab
    high = error - gaussian(error, sigma=1.5, channel_axis=-1)
    return np.sqrt((high**2).sum(axis=-1)[flat].mean())


settings = {
    "no dithering": {"dither_strength": 0.0},
    "strength 0.5": {"dither_strength": 0.5},
    "strength 1, plain": {"dither_adaptive": False},
    "strength 1, adaptive (default)": {},
}
fig, axes = plt.subplots(2, 2, figsize=(8, 5), layout="constrained")
for ax, (title, params) in zip(axes.flat, settings.items(), strict=True):
    dithering = ColorQuantizer(palette=palette, dither="floyd-steinberg", **params)
    image = dithering.fit_transform(crop)
    ax.imshow(image, interpolation="nearest")
    ax.set_title(f"{title}: flat-area noise {flat_noise(image):.2f}", fontsize=9)
    ax.set_axis_off()
