"""Settled colour cells (skquant._kernels._cells): 8-bit RGB labels by table,
checked against brute force on real photos and on every colour of many cells."""

import numpy as np
import pytest

from skquant._kernels import _assign, _cells
from skquant._kernels._assign import LUT_MIN_PIXELS, assign_labels, map_to_palette
from skquant._kernels._grid import grid_for
from tests.kernels._oracle import check_nearest, nearest_d2, palette_from


def _megapixel(image):
    """``image`` tiled with flipped copies until it holds LUT_MIN_PIXELS."""
    while image.shape[0] * image.shape[1] < LUT_MIN_PIXELS:
        image = np.concatenate([image, image[::-1, ::-1]], axis=0)
    return image


def _cell_colours(codes):
    """The 64 colours of each cell in ``codes`` (cell order, then code order)."""
    width = 1 << _cells.CELL_SHIFT
    n = _cells.CELLS_PER_CHANNEL
    corner = np.stack([codes // (n * n), (codes // n) % n, codes % n], axis=1)
    offsets = np.stack(
        np.meshgrid(*[np.arange(width)] * 3, indexing="ij"), axis=-1
    ).reshape(-1, 3)
    colours = corner[:, None, :] * width + offsets[None, :, :]
    return colours.reshape(-1, 3).astype(np.uint8)


def test_photos_take_the_cell_path(photos):
    """uint8 RGB from a megapixel on, in 'rgb': the cell kernels (and only there)."""
    image = _megapixel(photos[0]).reshape(-1, 3)
    palette = palette_from(image, 16, "rgb", 255.0, 0).astype(np.float64)
    kernel = _assign._labeller(image, palette, "rgb", 255.0)[0]
    assert kernel is _assign._assign_cells
    many = palette_from(image, _assign.BLOCK_MIN_COLORS, "rgb", 255.0, 0)
    kernel = _assign._labeller(image, many.astype(np.float64), "rgb", 255.0)[0]
    assert kernel is _assign._assign_blocks
    kernel = _assign._labeller(image, palette, "lab", 255.0)[0]
    assert kernel is not _assign._assign_cells
    kernel = _assign._labeller(image[: LUT_MIN_PIXELS // 2], palette, "rgb", 255.0)[0]
    assert kernel is not _assign._assign_cells


@pytest.mark.parametrize("n_colors", [2, 16, 64, 256, 2000])
def test_megapixel_photos_are_mapped_exactly(photos, n_colors):
    for seed, photo in enumerate(photos[:2]):
        image = _megapixel(photo)
        palette = palette_from(image, n_colors, "rgb", 255.0, seed, jitter=0.02)
        labels = assign_labels(image.reshape(-1, 3), palette)
        check_nearest(labels, image, palette)
        mapped = map_to_palette(image.reshape(-1, 3), palette, palette)
        np.testing.assert_array_equal(mapped, palette[labels])


@pytest.mark.parametrize("n_colors", [3, 16, 256])
def test_settled_cells_hold_the_nearest_entry_of_every_colour(astronaut, n_colors):
    """Each of the 64 colours of a settled cell: its nearest entry is among the
    survivors, and it is the only survivor when there is one."""
    pixels = _megapixel(astronaut).reshape(-1, 3)
    palette = palette_from(pixels, n_colors, "rgb", 255.0, 1).astype(np.float64)
    grid = grid_for(palette, *_cells.cell_box(), len(pixels) // 8)
    cells = _cells.new_cells()
    table = np.zeros(1 << 24, np.uint8)
    labels = np.empty(len(pixels), np.int32)
    _assign._assign_blocks(pixels, 0, len(pixels), grid, cells, table, labels)
    touched = np.flatnonzero(cells)
    counts = (cells[touched] & np.uint64(15)).astype(np.int64)
    assert (counts == 1).mean() > 0.3 and (counts >= 2).any()
    settled = touched[counts != _cells.UNSETTLED]
    settled = np.random.default_rng(0).permutation(settled)[:400]
    colours = _cell_colours(settled).astype(np.float64)
    d2 = np.stack([((colours - p) ** 2).sum(-1) for p in palette], axis=1)
    best = d2.min(axis=1)
    entries = np.repeat(cells[settled], 64)
    n = (entries & np.uint64(15)).astype(np.int64)
    nearest_kept = np.zeros(len(colours), bool)
    for k in range(_cells.MAX_SURVIVORS):
        label = ((entries >> np.uint64(4 + 15 * k)) & np.uint64(0x7FFF)).astype(int)
        active = k < n
        hit = d2[np.arange(len(colours)), label] <= best
        nearest_kept |= active & hit
        if k == 0:
            single = n == 1
            # one survivor: strictly nearest (no other entry ties with it)
            second = np.partition(d2[single], 1, axis=1)[:, 1]
            assert np.all(d2[single, label[single]] < second)
    assert nearest_kept.all()
    # the table holds label + 1 of all 64 colours of each cell settled with
    # several survivors (0 for label 255 in a uint8 table): the nearest
    # entry, the lowest index among exact ties
    several = n > 1
    lowest = np.argmax(d2 == best[:, None], axis=1)[several]
    morton = _assign._MORTON
    c = colours[several].astype(np.int64)
    codes = (morton[c[:, 0]] << 2) | (morton[c[:, 1]] << 1) | morton[c[:, 2]]
    assert len(codes) > 0
    np.testing.assert_array_equal(table[codes], (lowest + 1) % 256)


def test_exact_ties_go_to_the_lowest_index():
    """Colours halfway between two entries: the lower index, as brute force."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(LUT_MIN_PIXELS, 3), dtype=np.uint8)
    pixels[::7] = [101, 50, 200]
    palette = np.array([[90.0, 60, 190], [112, 40, 210], [101, 50, 170]])
    palette = np.concatenate([palette[::-1], palette])  # duplicates too
    labels = assign_labels(pixels, palette)
    d2 = nearest_d2(pixels.astype(np.float64), palette)
    all_d2 = ((pixels[:, None, :].astype(np.float64) - palette) ** 2).sum(-1)
    lowest = np.argmax(all_d2 == d2[:, None], axis=1)
    np.testing.assert_array_equal(labels, lowest)
    assert labels[0] == 1  # (101, 50, 200): entries 0 and 1 tie at 11**2 * 3


def test_palette_beyond_the_code_range_and_strided_pixels(china):
    """Entries outside [0, 255] widen the grid off the cell borders: the cells
    straddle grid cells, stay unsettled, and pixels are searched."""
    image = _megapixel(china)
    palette = palette_from(image, 40, "rgb", 255.0, 2, jitter=0.05)
    palette[:3] = [[-40.0, 10, 10], [300, 120, 5], [128, 128, 280]]
    strided = image[:, ::-1].reshape(-1, 3)[::1]
    wide = np.concatenate([image, image], axis=-1)[..., :3]  # not contiguous
    for pixels in (strided, wide.reshape(-1, 3)):
        labels = assign_labels(pixels, palette)
        check_nearest(labels, pixels, palette)
