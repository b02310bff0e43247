"""Shared palettes: streaming ``partial_fit`` versus one fit on everything, and
frame-to-frame stability with ``warm_start``.

Run: ``python benchmarks/bench_palettes.py``. Prints, on the sample photos
(four images of different sizes) at K = 16, 64 and 256:

- mean PSNR over the photos of a palette fitted on all of them at once, and of
  one learnt by ``partial_fit`` one photo at a time, with the time of each;
- on a 24-frame "video" (a photo with sensor noise and a slow pan), the share
  of pixels whose palette index changes between consecutive frames when every
  frame is refitted cold (fresh seed) versus with ``warm_start=True``.
"""

import statistics
import time

import numpy as np
from skimage import data
from sklearn.datasets import load_sample_image

from skquant import ColorQuantizer
from skquant.metrics import peak_signal_noise_ratio


def photos():
    return [
        load_sample_image("china.jpg"),
        load_sample_image("flower.jpg"),
        data.astronaut(),
        data.coffee(),
    ]


def frames(n=24, seed=0):
    rng = np.random.default_rng(seed)
    base = load_sample_image("china.jpg")
    out = []
    for i in range(n):
        shifted = np.roll(base, i * 2, axis=1)
        noise = rng.integers(-4, 5, size=base.shape)
        out.append(np.clip(shifted.astype(int) + noise, 0, 255).astype(np.uint8))
    return out


def mean_psnr(quantizer, images):
    return statistics.mean(
        peak_signal_noise_ratio(i, quantizer.transform(i)) for i in images
    )


def main():
    images = photos()
    print("partial_fit (one photo at a time) vs fit on all four photos")
    print(
        f"{'K':>4} {'fit-all dB':>10} {'stream dB':>10} {'diff':>6} "
        f"{'fit-all s':>9} {'stream s':>9}"
    )
    for k in (16, 64, 256):
        start = time.perf_counter()
        together = ColorQuantizer(k, random_state=0).fit(images)
        t_all = time.perf_counter() - start
        streamed = ColorQuantizer(k, random_state=0)
        start = time.perf_counter()
        for image in images:
            streamed.partial_fit(image)
        t_stream = time.perf_counter() - start
        a, b = mean_psnr(together, images), mean_psnr(streamed, images)
        print(
            f"{k:>4} {a:>10.2f} {b:>10.2f} {b - a:>6.2f} {t_all:>9.2f} {t_stream:>9.2f}"
        )

    video = frames()
    print("\nindex changes between consecutive frames (24 frames, K=16)")
    for name, make in [
        (
            "cold refit",
            lambda: ColorQuantizer(16, random_state=np.random.RandomState(0)),
        ),
        ("warm_start", lambda: ColorQuantizer(16, warm_start=True, random_state=0)),
    ]:
        quantizer = make()
        labels = [quantizer.fit(f).predict(f) for f in video]
        changes = [np.mean(a != b) for a, b in zip(labels, labels[1:], strict=False)]
        print(f"{name:<11} median {np.median(changes):.1%}  max {np.max(changes):.1%}")


if __name__ == "__main__":
    main()
