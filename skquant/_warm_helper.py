"""The helper process of :mod:`skquant._warm`: compiles into numba's cache
what the main process will need after its fit's pooling and seeding.

Run as ``python -m skquant._warm_helper`` by :func:`skquant._warm.before_compile`,
with the claim folder, the main process's id and the work (what the fit
said: settings, dtype, channels) in its environment. It maps and dithers a
small synthetic image of the same dtype and channels with the same settings
(and runs a few k-means iterations), so that the kernels are compiled for
the same types; every kernel goes through the claims of :mod:`skquant._warm`.
Errors are ignored: the main process compiles what is missing.
"""

import json
import os
import sys

from skquant._warm import ENV_PLAN, PLAN_SETTINGS

#: The dithering the helper compiles when the fit has none.
DEFAULT_DITHER = "floyd-steinberg"


def _synthetic_image(plan):
    """A small image of the plan's dtype and channels, with varied colours."""
    import numpy as np

    rng = np.random.default_rng(0)
    dtype = np.dtype(plan["dtype"])
    n_channels = plan["n_channels"]
    shape = (48, 64, n_channels) if plan["image"] else (3072, n_channels)
    values = rng.random(shape)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        image = (values * min(info.max, 65535)).astype(dtype)
    else:
        image = values.astype(dtype)
    if plan["n_channels"] == 4 and plan["alpha"] is not False:
        image[..., 3].flat[::5] = 0  # some clear pixels
    if plan["readonly"]:
        image.flags.writeable = False
    return image


def _steps(plan):
    """Callables compiling what the main process will need after its fit's
    pooling and seeding: k-means iterations, dithering (the fit's method,
    else :data:`DEFAULT_DITHER` outside the command line), mapping."""
    import numpy as np

    from skquant._engine import check_params, fit_palette
    from skquant._image import read_input
    from skquant._kmeans import run_kmeans

    image = _synthetic_image(plan)
    layout = read_input(image)
    k = max(2, min(int(plan["n_colors"] or 16), 64))
    flat = image.reshape(-1, plan["n_channels"])
    palette = np.unique(flat, axis=0)[:: max(1, len(flat) // (4 * k))][:k]
    params = {name: plan[name] for name in PLAN_SETTINGS if plan[name] is not None}
    params.update(n_colors=len(palette), palette=palette)

    def fitted(dither):
        settings = check_params({**params, "dither": dither}, plan["n_channels"])
        return fit_palette(layout, settings)

    def lloyd():
        fit = fitted(None)
        points = fit.space.to_working(flat)
        points = np.ascontiguousarray(points, dtype=np.float64)
        weights = np.ones(len(points))
        run_kmeans(
            points,
            weights,
            len(palette),
            backend="sklearn",
            init=points[: len(palette)].copy(),
            n_init=1,
            max_iter=3,
            tol=1e-4,
            rng=np.random.RandomState(0),
        )

    def mapping(dither):
        def run():
            fit = fitted(dither)
            fit.transform(layout)
            fit.layout_labels(layout)

        return run

    # The main process pools and seeds first (about a third of the
    # compiling), then iterates, maps (small kernels) and dithers. With
    # dithering to come, the helper compiles it first, then what the main
    # process has not yet reached of the iterations; else the iterations
    # first. Outside the command line, a fit without dithering is often
    # followed by one with it: the default method is compiled then.
    dither = plan["dither"] if plan["dither"] not in (None, "none") else None
    if dither is None and plan["image"] and not plan["exact"]:
        dither = DEFAULT_DITHER
    if dither is None or not plan["image"]:
        return [lloyd, mapping(None)]
    return [mapping(dither), lloyd, mapping(None)]


def _helper_main():
    import signal
    import warnings

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # clean up on the way
    plan = json.loads(os.environ[ENV_PLAN])
    warnings.simplefilter("ignore")
    for step in _steps(plan):
        try:
            step()
        except Exception:  # noqa: BLE001 (the main process compiles what is missing)
            pass


if __name__ == "__main__":
    _helper_main()
