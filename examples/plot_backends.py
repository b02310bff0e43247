"""
Backends and peers compared
===========================

:class:`~skquant.ColorQuantizer` learns its palette with scikit-learn's
k-means (``backend='sklearn'``, on a weighted colour histogram of every
pixel) or OpenCV's (``backend='opencv'``, on a random sample of pixels).
This example compares both, on quality and time, with Pillow's median cut
and fast octree quantizers, on three photographs at 16 colours.

Timings depend on the machine and on what else runs on it; the gallery is
built on a small shared machine, so read them as orders of magnitude.
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image
from skimage import data
from sklearn.datasets import load_sample_image

from skquant import ColorQuantizer
from skquant.metrics import mean_delta_e, peak_signal_noise_ratio

# Half-size photos (about 70,000 pixels each) keep the gallery build quick.
photos = {
    "china": load_sample_image("china.jpg")[::2, ::2],
    "astronaut": data.astronaut()[::2, ::2],
    "coffee": data.coffee()[::2, ::2],
}
K = 16


def pillow(method):
    """A quantizer function built on ``PIL.Image.quantize``."""

    def run(image):
        quantized = Image.fromarray(image).quantize(
            K, method=method, dither=Image.Dither.NONE
        )
        return np.asarray(quantized.convert("RGB"))

    return run


def skquant_backend(backend):
    def run(image):
        return ColorQuantizer(K, backend=backend, random_state=0).fit_transform(image)

    return run


methods = {
    "skquant sklearn": skquant_backend("sklearn"),
    "skquant opencv": skquant_backend("opencv"),
    "Pillow median cut": pillow(Image.Quantize.MEDIANCUT),
    "Pillow fast octree": pillow(Image.Quantize.FASTOCTREE),
}

# sphinx_gallery_thumbnail_number = 2

# %%
# Measure
# -------
# Each method runs once to warm up (compilation, caches) before the timed
# runs, one per photo.
scores = {name: {"psnr": [], "delta_e": [], "seconds": []} for name in methods}
outputs = {}
for method in methods.values():
    method(photos["china"])
for photo_name, photo in photos.items():
    for name, method in methods.items():
        start = time.perf_counter()
        result = method(photo)
        scores[name]["seconds"].append(time.perf_counter() - start)
        outputs[photo_name, name] = result
        scores[name]["psnr"].append(peak_signal_noise_ratio(photo, result))
        scores[name]["delta_e"].append(mean_delta_e(photo, result))

print(f"{'method':20s} {'PSNR':>8s} {'CIEDE2000':>10s} {'time':>8s}")
for name, s in scores.items():
    print(
        f"{name:20s} {np.mean(s['psnr']):6.2f} dB {np.mean(s['delta_e']):10.2f} "
        f"{1000 * np.mean(s['seconds']):6.1f} ms"
    )

# %%
# Quality and time
# ----------------
names = list(methods)
fig, axes = plt.subplots(1, 3, figsize=(11, 3.2), layout="constrained")
for ax, (key, label) in zip(
    axes,
    [
        ("psnr", "mean PSNR (dB), higher is better"),
        ("delta_e", "mean CIEDE2000, lower is better"),
        ("seconds", "time per photo (ms)"),
    ],
    strict=True,
):
    values = [
        np.mean(scores[n][key]) * (1000 if key == "seconds" else 1) for n in names
    ]
    ax.barh(names, values, color=["tab:blue", "tab:cyan", "tab:orange", "tab:gray"])
    ax.set_title(label, fontsize=10)
    ax.invert_yaxis()
for ax in axes[1:]:
    ax.set_yticklabels([])

# %%
# What the numbers look like
# --------------------------
# A crop of the astronaut photo: k-means palettes follow where the pixels
# are, median cut splits the colour cube into boxes of equal counts.
fig, axes = plt.subplots(1, 5, figsize=(11, 2.6), layout="constrained")
crop = (slice(30, 130), slice(60, 160))
axes[0].imshow(photos["astronaut"][crop])
axes[0].set_title("original")
for ax, name in zip(axes[1:], names, strict=True):
    ax.imshow(outputs["astronaut", name][crop])
    ax.set_title(name, fontsize=9)
for ax in axes:
    ax.set_axis_off()
