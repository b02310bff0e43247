"""
Fixed palettes, kept colours and one palette for many frames
============================================================

Not every palette is learnt from scratch. This example

1. maps a photo onto a given 4-colour palette (``palette=``), read from a
   palette file;
2. keeps two brand colours in an otherwise learnt palette (``fixed_colors=``);
3. quantizes the frames of a short animation with one shared palette, learnt
   either from all frames at once or frame by frame with ``partial_fit``, and
   writes an animated GIF with a single colour table.
"""

# %%
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image
from skimage import data

from skquant import ColorQuantizer
from skquant.io import read_palette, write_animated_gif, write_palette
from skquant.plotting import plot_palette

astronaut = data.astronaut()[::2, ::2]
workdir = tempfile.TemporaryDirectory()  # removed at the end
folder = workdir.name

# sphinx_gallery_thumbnail_number = 1

# %%
# A given palette
# ---------------
# Four greens in the style of an old handheld console's screen, saved as a
# GIMP palette and read back, as one would with a palette made elsewhere.
greens = np.array(
    [[15, 56, 15], [48, 98, 48], [139, 172, 15], [155, 188, 15]], dtype=np.uint8
)
write_palette(os.path.join(folder, "greens.gpl"), greens)
palette = read_palette(os.path.join(folder, "greens.gpl"))

console = ColorQuantizer(palette=palette).fit(astronaut)
print(console.n_colors_, np.array_equal(console.palette_, palette))

# %%
# Two colours that must stay
# --------------------------
# ``fixed_colors`` come first in the palette, exactly as given; k-means
# learns the other 6 around them.
brand = np.array([[220, 30, 40], [255, 255, 255]], dtype=np.uint8)
kept = ColorQuantizer(n_colors=8, fixed_colors=brand, random_state=0).fit(astronaut)
print(kept.palette_[:2])

fig = plt.figure(figsize=(9, 4.2), layout="constrained")
grid = fig.add_gridspec(2, 3, height_ratios=(6, 1))
for column, (title, image, colors) in enumerate(
    [
        ("original", astronaut, None),
        ("palette=greens", console.transform(astronaut), console.palette_),
        ("fixed_colors=red, white + 6", kept.transform(astronaut), kept.palette_),
    ]
):
    ax = fig.add_subplot(grid[0, column])
    ax.imshow(image)
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()
    if colors is not None:
        plot_palette(colors, ax=fig.add_subplot(grid[1, column]))

# %%
# One palette for all frames
# --------------------------
# Frames of a slow pan across the photo. Fitting each frame on its own gives
# palettes that differ from frame to frame, so the same colour changes index
# and the animation flickers. Fitting once on the list of frames gives one
# palette for all.
frames = [
    astronaut[20 + 6 * i : 120 + 6 * i, 40 + 8 * i : 180 + 8 * i] for i in range(8)
]
shared = ColorQuantizer(n_colors=16, random_state=0).fit(frames)
labels = shared.predict(frames)  # a list: one label image per frame
print(len(labels), labels[0].shape)

# %%
# When the frames come one at a time (a video, a long sequence), stream them
# through ``partial_fit``: each call refines the palette and keeps the order
# of its colours, so indices stay stable.
streamed = ColorQuantizer(n_colors=16, random_state=0)
for frame in frames:
    streamed.partial_fit(frame)

separate = [ColorQuantizer(n_colors=16, random_state=0).fit(f).palette_ for f in frames]
fig, axes = plt.subplots(3, 1, figsize=(8, 3.6), layout="constrained")
plot_palette(shared.palette_, ax=axes[0])
axes[0].set_title("shared palette, fitted on all frames", fontsize=9)
plot_palette(streamed.palette_, ax=axes[1])
axes[1].set_title("shared palette, streamed with partial_fit", fontsize=9)
plot_palette(np.vstack([separate[0][:8], separate[-1][:8]]), ax=axes[2])
axes[2].set_title(
    "own palettes: first 8 colours of frame 1, then of frame 8", fontsize=9
)

# %%
# An animated GIF with one colour table
# -------------------------------------
# :func:`skquant.io.write_animated_gif` stores the shared palette once, as the
# GIF's global colour table, and every frame as indices into it.
gif = os.path.join(folder, "pan.gif")
write_animated_gif(gif, labels, shared.palette_, duration=120)
with Image.open(gif) as im:
    print(im.n_frames, "frames,", len(im.getpalette()) // 3, "colours in the table")
    shown = []
    for i in range(0, im.n_frames, 2):
        im.seek(i)
        shown.append(np.asarray(im.convert("RGB")))

fig, axes = plt.subplots(1, len(shown), figsize=(10, 1.9), layout="constrained")
for i, (ax, frame) in enumerate(zip(axes, shown, strict=True)):
    ax.imshow(frame)
    ax.set_title(f"frame {2 * i + 1}", fontsize=9)
    ax.set_axis_off()

workdir.cleanup()
