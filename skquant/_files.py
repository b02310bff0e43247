"""Many image files, one palette, in parallel with Dask (``quantize_files``).

Built on :mod:`skquant._dask` (sampling, shipping the estimator) and
:class:`skquant.ColorQuantizer`; neither imports this module.
"""

import os

import numpy as np

from skquant._dask import _SEED_HIGH, DASK_SAMPLE_SIZE, _sample_block, _shipped
from skquant._engine import check_random_state
from skquant._image import check_positive_int
from skquant._quantizer import ColorQuantizer


def quantize_files(
    paths,
    output_dir,
    *,
    n_colors=16,
    sample_per_image=None,
    mode="rgb",
    suffix=".png",
    overwrite=False,
    scheduler=None,
    progress=True,
    **params,
):
    """Quantize many image files to one shared palette, in parallel with Dask.

    Two passes over the files, each a parallel Dask computation: the first
    reads every image and draws ``sample_per_image`` random pixels from it;
    one :class:`~skquant.ColorQuantizer` is fitted on all these pixels
    together; the second pass reads every image again, maps it onto the
    palette and writes it to ``output_dir`` as ``<stem><suffix>``. Only the
    sample and the images being processed are in memory at any time.

    Parameters
    ----------
    paths : sequence of str or os.PathLike
        Image files, in any format :func:`skquant.io.read_image` reads. They
        must give the same dtype (8 or 16 bits) and number of channels.
    output_dir : str or os.PathLike
        Folder for the results, created if needed.
    n_colors : int, default=16
        Number of palette colours.
    sample_per_image : int or None, default=None
        Pixels drawn from each image to fit the palette (all pixels of smaller
        images). None shares 1,000,000 pixels equally among the images.
    mode : {'rgb', 'rgba', 'gray'} or None, default='rgb'
        Channel layout the images are read in, see
        :func:`skquant.io.read_image`.
    suffix : str, default='.png'
        Extension of the written files, which selects their format. Keep a
        lossless format: JPEG would bring back colours outside the palette.
        PNG and GIF files are indexed (a colour table of 8-bit entries and
        one index per pixel, as the ``skquant`` command writes them) when
        the palette has at most 256 colours and 3 or 4 channels, 16-bit
        inputs included.
    overwrite : bool, default=False
        Replace existing output files. If False, an existing output raises
        :class:`FileExistsError` naming it, before any work is done, and is
        left untouched.
    scheduler : str, dask.distributed.Client or None, default=None
        Dask scheduler for both passes; None uses Dask's default (the active
        distributed client if there is one, else threads).
    progress : bool, default=True
        Show a progress bar for each pass: :func:`distributed.progress` with a
        distributed client, :class:`dask.diagnostics.ProgressBar` otherwise.
    **params
        Other :class:`~skquant.ColorQuantizer` parameters; ``random_state``
        also seeds the pixel sample.

    Returns
    -------
    quantizer : ColorQuantizer
        The fitted quantizer, whose ``palette_`` all outputs share (sRGB
        colours, see Notes).
    output_paths : list of str
        The written files, in the order of ``paths``.

    Raises
    ------
    FileExistsError
        If ``overwrite=False`` and an output file exists.
    ValueError
        If two inputs have the same stem, an output would replace an input, or
        the images differ in dtype or channel count.

    Notes
    -----
    One palette means one colour space: inputs whose ICC profile is an RGB
    space other than sRGB (Adobe RGB, Display P3, ...) are converted to sRGB
    with Pillow's ImageCms (relative colorimetric intent) when read, in both
    passes, as the ``skquant`` command does with ``--shared-palette``. The
    outputs hold sRGB colours and no metadata, so they show the inputs'
    colours in any viewer.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> from sklearn.datasets import load_sample_images
    >>> from skquant.io import read_image, write_image
    >>> from skquant._files import quantize_files
    >>> folder = tempfile.mkdtemp()
    >>> paths = []
    >>> for i, image in enumerate(load_sample_images().images):
    ...     paths.append(os.path.join(folder, f"photo{i}.png"))
    ...     write_image(paths[-1], image)
    >>> quantizer, written = quantize_files(
    ...     paths, os.path.join(folder, "out"), n_colors=8, random_state=0,
    ...     progress=False)
    >>> [os.path.basename(p) for p in written]
    ['photo0.png', 'photo1.png']
    >>> result = read_image(written[0])
    >>> len(np.unique(result.reshape(-1, 3), axis=0)) <= 8
    True
    """
    import dask

    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise ValueError("paths is empty; give at least one image file.")
    output_dir = os.fspath(output_dir)
    output_paths = _output_paths(paths, output_dir, suffix)
    if not overwrite:
        for out in output_paths:
            if os.path.lexists(out):
                raise FileExistsError(
                    f"output {out!r} already exists; remove it, choose another "
                    "output_dir, or pass overwrite=True."
                )
    if sample_per_image is None:
        sample_per_image = max(1, DASK_SAMPLE_SIZE // len(paths))
    sample_per_image = check_positive_int(sample_per_image, "sample_per_image")

    quantizer = ColorQuantizer(n_colors, **params)
    rng = check_random_state(quantizer.random_state)
    seeds = rng.randint(_SEED_HIGH, size=len(paths))
    samples = _compute(
        [
            dask.delayed(_sample_file, pure=True)(path, sample_per_image, seed, mode)
            for path, seed in zip(paths, seeds, strict=True)
        ],
        scheduler=scheduler,
        progress=progress,
    )
    _check_same_kind(paths, samples)
    quantizer.fit(np.concatenate(samples)[np.newaxis])  # one row of image pixels

    os.makedirs(output_dir, exist_ok=True)
    shipped = _shipped(quantizer)
    written = _compute(
        [
            dask.delayed(_quantize_file, pure=False)(
                path, out, shipped, mode, overwrite
            )
            for path, out in zip(paths, output_paths, strict=True)
        ],
        scheduler=scheduler,
        progress=progress,
    )
    return quantizer, list(written)


def _output_paths(paths, output_dir, suffix):
    outputs = [
        os.path.join(output_dir, os.path.splitext(os.path.basename(p))[0] + suffix)
        for p in paths
    ]
    seen = {}
    for path, out in zip(paths, outputs, strict=True):
        if out in seen:
            raise ValueError(
                f"{seen[out]!r} and {path!r} would both be written to {out!r}; "
                "give the inputs distinct names."
            )
        seen[out] = path
    inputs = {os.path.realpath(p) for p in paths}
    for out in outputs:
        if os.path.realpath(out) in inputs:
            raise ValueError(
                f"output {out!r} would replace an input image; choose another "
                "output_dir or suffix."
            )
    return outputs


def _check_same_kind(paths, samples):
    kinds = {}
    for path, sample in zip(paths, samples, strict=True):
        kinds.setdefault((sample.dtype.str, sample.shape[-1]), path)
    if len(kinds) > 1:
        found = ", ".join(
            f"{np.dtype(dtype)} with {n} channels ({path!r})"
            for (dtype, n), path in kinds.items()
        )
        raise ValueError(
            "all images must have the same dtype and number of channels to share "
            f"a palette, found {found}."
        )


def _read_in_srgb(path, mode):
    """An input image, converted to sRGB if its ICC profile is another RGB
    space: one shared palette needs one colour space."""
    from skquant.io import read_image
    from skquant.io._metadata import read_metadata
    from skquant.io._profiles import image_in_srgb

    image = read_image(path, mode=mode)
    return image_in_srgb(image, read_metadata(path).get("icc_profile"))


def _sample_file(path, n_samples, seed, mode):
    image = _read_in_srgb(path, mode)
    pixels, _ = _sample_block(image, None, n_samples, seed)
    return pixels


def _quantize_file(path, output_path, estimator, mode, overwrite):
    from skquant.io import write_image, write_indexed

    image = _read_in_srgb(path, mode)
    palette = estimator.palette_
    indexed = os.path.splitext(output_path)[1].lower() in (".png", ".gif")
    if indexed and len(palette) <= 256 and palette.shape[1] in (3, 4):
        labels = estimator.predict(image)
        write_indexed(output_path, labels, palette, overwrite=overwrite)
    else:
        write_image(output_path, estimator.transform(image), overwrite=overwrite)
    return output_path


def _distributed_client(scheduler):
    """The distributed client that ``scheduler`` resolves to, or None."""
    from dask.base import get_scheduler

    get = get_scheduler(scheduler=scheduler)
    client = getattr(get, "__self__", None)
    if client is not None and type(client).__module__.startswith("distributed"):
        return client
    return None


def _compute(tasks, *, scheduler, progress):
    """Compute delayed ``tasks`` with a progress bar; list of results."""
    import dask

    client = _distributed_client(scheduler)
    if client is not None:
        futures = client.compute(tasks)
        if progress:
            from distributed import progress as show_progress

            show_progress(futures)
        return client.gather(futures)
    if progress:
        from dask.diagnostics import ProgressBar

        with ProgressBar():
            return list(dask.compute(*tasks, scheduler=scheduler))
    return list(dask.compute(*tasks, scheduler=scheduler))
