"""The ``skquant`` command line: quantize image files."""

import argparse
import sys
import time

import numpy as np

from skquant._quantizer import ColorQuantizer

SAMPLE_PREFIX = "sample:"


def _load_sample(name):
    """A sample photo shipped with scikit-learn or scikit-image."""
    from sklearn.datasets import load_sample_image, load_sample_images

    sklearn_names = [f.rsplit("/", 1)[-1] for f in load_sample_images().filenames]
    if name in sklearn_names:
        return load_sample_image(name)
    from skimage import data

    loader = getattr(data, name, None)
    if loader is None or not callable(loader):
        raise ValueError(
            f"unknown sample image {name!r}; try one of {sklearn_names} or a "
            "skimage.data name such as 'astronaut'."
        )
    return np.asarray(loader())


def _read(path):
    if path.startswith(SAMPLE_PREFIX):
        return _load_sample(path[len(SAMPLE_PREFIX) :])
    from skquant.io import read_image

    return read_image(path)


def _psnr(a, b):
    from skquant.metrics import peak_signal_noise_ratio

    return peak_signal_noise_ratio(a, b)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="skquant",
        description="Reduce an image to a palette of K colours with k-means.",
    )
    parser.add_argument(
        "input",
        help="image file, or sample:NAME for a bundled photo (sample:china.jpg)",
    )
    parser.add_argument("-o", "--output", required=True, help="output image file")
    parser.add_argument("-k", "--colors", type=int, default=16, help="palette size")
    parser.add_argument("--backend", choices=["sklearn", "opencv"], default="sklearn")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing output"
    )
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        from skquant.io import write_image

        image = _read(args.input)
        start = time.perf_counter()
        quantizer = ColorQuantizer(
            args.colors, backend=args.backend, random_state=args.seed
        )
        result = quantizer.fit_transform(image)
        elapsed = time.perf_counter() - start
        write_image(args.output, result, overwrite=args.overwrite)
    except (ValueError, TypeError, OSError) as exc:
        print(f"skquant: error: {exc}", file=sys.stderr)
        return 1
    print(
        f"{args.input} -> {args.output}: {image.shape[1]}x{image.shape[0]}, "
        f"K={quantizer.n_colors_}, {elapsed:.3f} s, "
        f"PSNR {_psnr(image, result):.2f} dB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
