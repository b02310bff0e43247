"""A fitted quantizer shared by threads, and sent to process pools.

``predict`` and ``transform`` keep no state on the estimator and the numba
kernels release the GIL, so eight threads mapping different photos at once
must give exactly what one thread gives. The images are large enough
(>= 2**17 pixels) for the kernels themselves to run on several threads, so
parallel regions are launched from several Python threads at once.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from joblib import Parallel, delayed
from sklearn.base import clone

from skquant import ColorQuantizer

N_THREADS = 8


@pytest.fixture(scope="module")
def images(photos):
    """Eight different real photos (the four, and the four flipped)."""
    return [*photos, *(np.ascontiguousarray(p[::-1, ::-1]) for p in photos)]


def as_dtype(image, dtype):
    if dtype == np.uint16:
        return image.astype(np.uint16) * 257
    if dtype == np.float32:
        return (image / np.float32(255)).astype(np.float32)
    return image


def run_together(func, items):
    """Call ``func`` on every item, all threads released at the same moment."""
    barrier = threading.Barrier(len(items))

    def call(item):
        barrier.wait()
        return func(item)

    with ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(call, items))


@pytest.mark.parametrize(
    "dtype, color_space, n_colors",
    [(np.uint8, "rgb", 64), (np.uint16, "lab", 32), (np.float32, "rgb", 100)],
)
def test_threads_share_one_fitted_quantizer(images, dtype, color_space, n_colors):
    images = [as_dtype(image, dtype) for image in images]
    q = ColorQuantizer(n_colors, color_space=color_space, random_state=0)
    q.fit(images[0][::2, ::2])
    state = {
        k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(q).items()
    }
    sequential = [(q.predict(image), q.transform(image)) for image in images]
    labels = run_together(q.predict, images)
    outputs = run_together(q.transform, images)
    for (label, out), label_t, out_t in zip(sequential, labels, outputs, strict=True):
        assert np.array_equal(label, label_t)
        assert np.array_equal(out, out_t) and out.dtype == out_t.dtype
    # the same image from every thread, mixing predict and transform
    mixed = run_together(
        lambda i: (q.predict if i % 2 else q.transform)(images[2]), range(N_THREADS)
    )
    for i, result in enumerate(mixed):
        assert np.array_equal(result, sequential[2][i % 2 == 0])
    # no state was written on the shared estimator
    assert vars(q).keys() == state.keys()
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(vars(q)[key], value)


def test_threads_fitting_their_own_clones(images):
    """Fitting in threads (one clone each) gives the sequential palettes."""
    template = ColorQuantizer(16, random_state=0)
    small = [image[::4, ::4] for image in images]
    sequential = [clone(template).fit(image).palette_ for image in small]
    palettes = run_together(lambda im: clone(template).fit(im).palette_, small)
    for a, b in zip(sequential, palettes, strict=True):
        assert np.array_equal(a, b)


def _fit_palette(image, backend, seed):
    return ColorQuantizer(12, backend=backend, random_state=seed).fit(image).palette_


@pytest.mark.parametrize("backend", ["sklearn", "opencv"])
def test_joblib_process_pool(images, backend):
    q = ColorQuantizer(32, backend=backend, random_state=0).fit(images[1][::2, ::2])
    sequential = [q.transform(image) for image in images[:4]]
    parallel = Parallel(n_jobs=2, backend="loky")(
        delayed(q.transform)(image) for image in images[:4]
    )
    for a, b in zip(sequential, parallel, strict=True):
        assert np.array_equal(a, b)
    # fits in worker processes give the palettes of fits here
    small = [image[::4, ::4] for image in images[:4]]
    here = [_fit_palette(image, backend, 7) for image in small]
    there = Parallel(n_jobs=2, backend="loky")(
        delayed(_fit_palette)(image, backend, 7) for image in small
    )
    for a, b in zip(here, there, strict=True):
        assert np.array_equal(a, b)
