"""
Quantize image collections lazily with Dask
===========================================

Satellite mosaics, microscopy slides and photo archives do not fit in memory.
:class:`~skquant.ColorQuantizer` accepts `Dask <https://www.dask.org>`_ arrays
(install ``skquant[dask]``): ``fit`` draws a random sample of pixels block by
block and computes only that sample, while ``predict``, ``transform`` and
``inverse_transform`` return lazy Dask arrays with the input's shape, chunks
and dtype, computed block by block by any Dask scheduler, a
``dask.distributed`` cluster included. Blocks are mapped exactly as in memory.

This example builds a lazy stack of photos read from files, fits one palette
on it, maps it onto the palette, and then quantizes a whole folder of files
to one shared palette with :func:`~skquant.quantize_files`.
"""

# %%
import os
import shutil
import tempfile

import dask
import dask.array as da
import matplotlib.pyplot as plt
from skimage import data
from sklearn.datasets import load_sample_image

from skquant import ColorQuantizer, quantize_files
from skquant.io import read_image, write_image
from skquant.plotting import plot_before_after

folder = tempfile.mkdtemp()
photos = {
    "china": load_sample_image("china.jpg"),
    "flower": load_sample_image("flower.jpg"),
    "astronaut": data.astronaut(),
    "coffee": data.coffee(),
}
paths = []
for name, photo in photos.items():
    paths.append(os.path.join(folder, f"{name}.png"))
    write_image(paths[-1], photo)

# %%
# A lazy stack of images
# ----------------------
# Nothing is read yet: each file becomes one delayed read, and the stack is
# cut into tiles of 214 x 320 pixels, the blocks Dask works on.


def read(path):
    print(f"reading {os.path.basename(path)}")
    return read_image(path)


same_size = paths[:2]  # china and flower are both 427 x 640
stack = da.stack(
    [
        da.from_delayed(dask.delayed(read)(path), shape=(427, 640, 3), dtype="uint8")
        for path in same_size
    ]
).rechunk((1, 214, 320, 3))
print(stack)

# %%
# Fit on a sample, map lazily
# ---------------------------
# ``fit`` reads the blocks to draw its random sample of pixels (the
# quantizer's ``sample_size``, or a million pixels) and learns the palette on
# that sample in memory. ``transform`` only builds a graph: the files are read
# again when the result is computed, block by block.
quantizer = ColorQuantizer(n_colors=16, color_space="oklab", random_state=0)
quantizer.fit(stack)
quantized = quantizer.transform(stack)
print(quantized)
print("chunks preserved:", quantized.chunks == stack.chunks)
result = quantized.compute()

# %%
# Before and after, one palette for both photos:
fig, axes = plt.subplots(2, 2, figsize=(9, 5.2), layout="constrained")
for i, path in enumerate(same_size):
    plot_before_after(
        photos[os.path.basename(path)[:-4]],
        result[i],
        axes=axes[i],
        titles=["Original", f"{quantizer.n_colors_} colours (shared)"],
    )

# %%
# A whole collection of files
# ---------------------------
# :func:`~skquant.quantize_files` does the same for a list of files of any
# sizes: it samples pixels from every file in parallel, fits one palette, then
# reads, maps and writes every file in parallel (``progress=True``, the
# default, shows a progress bar; under a ``dask.distributed`` client it uses
# the cluster and its progress display).
quantizer, written = quantize_files(
    paths,
    os.path.join(folder, "quantized"),
    n_colors=8,
    random_state=0,
    progress=False,
)
fig, axes = plt.subplots(1, len(written), figsize=(11, 2.6), layout="constrained")
for ax, path in zip(axes, written, strict=True):
    ax.imshow(read_image(path))
    ax.set_title(os.path.basename(path), fontsize=9)
    ax.set_axis_off()
fig.suptitle(f"Four files, one palette of {quantizer.n_colors_} colours")
shutil.rmtree(folder)
