"""Configurations whose outputs are pinned in ``tests/data/pinned.npz``.

Regenerate (only when a change of result is intended and named in the commit)
with ``python -m tests._pinned``.
"""

from pathlib import Path

import numpy as np
from skimage import data
from sklearn.datasets import load_sample_image

PINNED = Path(__file__).parent / "data" / "pinned.npz"

#: name -> ColorQuantizer parameters (all with random_state=0).
CONFIGS = {
    "rgb": {},
    "rgb-k64": {"n_colors": 64},
    "lab": {"color_space": "lab"},
    "oklab": {"color_space": "oklab"},
    "din99o": {"color_space": "din99o"},
    "opencv": {"backend": "opencv"},
    "pixels": {"histogram_bins": None, "sample_size": 20_000},
    "fixed": {"fixed_colors": [[0, 0, 0], [255, 255, 255]]},
    "rgb-fs": {"dither": "floyd-steinberg"},
    "din99o-fs": {"color_space": "din99o", "dither": "floyd-steinberg"},
    "lab-atkinson": {"color_space": "lab", "dither": "atkinson"},
    "oklab-bayer": {"color_space": "oklab", "dither": "bayer"},
}


def photos():
    """Two real photographs at half resolution (about 65k pixels each)."""
    china = load_sample_image("china.jpg")[::2, ::2]
    astronaut = data.astronaut()[::2, ::2]
    return {"china": np.ascontiguousarray(china), "astronaut": astronaut.copy()}


def outputs():
    """{key: array}: the palette and labels of every config on every photo."""
    from skquant import ColorQuantizer

    result = {}
    for photo_name, image in photos().items():
        for name, params in CONFIGS.items():
            params = {"n_colors": 16, "random_state": 0, **params}
            quantizer = ColorQuantizer(**params).fit(image)
            labels = quantizer.predict(image)
            result[f"{photo_name}/{name}/palette"] = quantizer.palette_
            result[f"{photo_name}/{name}/labels"] = labels.astype(np.uint8)
    return result


if __name__ == "__main__":
    PINNED.parent.mkdir(exist_ok=True)
    np.savez_compressed(PINNED, **outputs())
    print(f"wrote {PINNED}")
