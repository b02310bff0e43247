"""PSNR, mean CIEDE2000 and SSIM between a reference and a test image."""

import numpy as np

from skquant.metrics._inputs import is_image_list, pairs, pixel_chunks

#: Values per chunk for PSNR.
_PSNR_CHUNK_VALUES = 1 << 20

#: SSIM window (scikit-image's default) and the largest strip, in pixels,
#: handed to scikit-image at once.
_SSIM_WIN_SIZE = 7
_SSIM_STRIP_PIXELS = 1 << 18


def peak_signal_noise_ratio(image_true, image_test, *, data_range=None):
    """Peak signal-to-noise ratio (PSNR) between two images, in decibels.

    Parameters
    ----------
    image_true : ndarray or list of ndarray
        Reference image(s), any shape, channels last (all channels count).
    image_test : ndarray or list of ndarray
        Test image(s), same shape(s) as ``image_true``.
    data_range : float, default=None
        Distance between the lowest and highest possible values. ``None``
        infers it from the dtype: 255 for uint8, 65535 for uint16, 1.0 for
        float, whose values must then lie in [0, 1] (see the module's data
        contract; 0-255 floats need ``data_range=255``).

    Returns
    -------
    psnr : float
        ``10 * log10(data_range**2 / mse)``; ``inf`` for identical images.
        For lists the mean squared error is pooled over all values of all
        images (each image's error measured relative to its own range).
        For RGBA images, the values (alpha included) of the pixels that are
        not fully transparent in ``image_true``.

    Raises
    ------
    ValueError
        If the shapes differ, ``data_range`` cannot be inferred, or float
        data without ``data_range`` is clearly not in [0, 1].

    See Also
    --------
    skimage.metrics.peak_signal_noise_ratio : Same value for one image.
    psnr_scorer : PSNR of a quantizer's output, for model selection.

    Notes
    -----
    Differences are accumulated in float64 over bounded chunks, so large
    images never need a full-size float copy.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant.metrics import peak_signal_noise_ratio
    >>> image = np.zeros((4, 4, 3), dtype=np.uint8)
    >>> noisy = image.copy()
    >>> noisy[0, 0, 0] = 255
    >>> round(peak_signal_noise_ratio(image, noisy), 3)
    16.812
    >>> peak_signal_noise_ratio(image, image)
    inf
    """
    squared_error = 0.0
    n_values = 0
    for true, test, data_range_i, visible in pairs(image_true, image_test, data_range):
        scale = 1.0 / (data_range_i * data_range_i)
        # whole pixels when some are left out, else any run of values
        n_channels = 1 if visible is None else true.shape[-1]
        for chunk_true, chunk_test in pixel_chunks(
            true, test, visible, n_channels, _PSNR_CHUNK_VALUES // n_channels
        ):
            diff = chunk_true.astype(np.float64).ravel()
            diff -= chunk_test.ravel()
            squared_error += float(np.dot(diff, diff)) * scale
            n_values += diff.size
    if squared_error == 0.0:
        return float("inf")
    return float(10.0 * np.log10(n_values / squared_error))


def mean_delta_e(image_true, image_test, *, data_range=None):
    """Mean CIEDE2000 colour difference between two sRGB images.

    Parameters
    ----------
    image_true : ndarray or list of ndarray
        Reference sRGB image(s) with 3 channels (RGB) or 4 (RGBA: alpha
        only leaves out fully transparent pixels) on the last axis: pixels
        ``(n_pixels, 3)``, an image ``(H, W, 3)``, a batch ``(N, H, W, 3)``...
    image_test : ndarray or list of ndarray
        Test image(s), same shape(s) as ``image_true``.
    data_range : float, default=None
        Full-scale value of the RGB components: pixels are divided by it to
        give sRGB in [0, 1]. ``None`` infers it from the dtype: 255 for
        uint8, 65535 for uint16, 1.0 for float, whose values must then lie
        in [0, 1] (0-255 floats need ``data_range=255``).

    Returns
    -------
    delta_e : float
        Mean CIEDE2000 difference (CIELAB, D65, 2° observer) over all
        pixels; for lists, over all pixels of all images. 0 for identical
        images; about 1 is a just-noticeable difference. For RGBA, over the
        pixels that are not fully transparent in ``image_true`` (0 when none
        is).

    Raises
    ------
    ValueError
        If the shapes differ, the images do not have 3 or 4 channels,
        ``data_range`` cannot be inferred, or float data without
        ``data_range`` is clearly not in [0, 1].

    See Also
    --------
    skimage.color.deltaE_ciede2000 : The per-pixel colour difference.
    delta_e_scorer : Negative mean CIEDE2000 of a quantizer's output.

    Notes
    -----
    Each pixel is converted to CIELAB and compared inside one compiled,
    threaded kernel (``skquant._kernels.ciede2000_sum``): skquant's sRGB to
    CIELAB conversion, which agrees with :func:`skimage.color.rgb2lab` (it
    extends the sRGB curve symmetrically below 0 where scikit-image extends
    its linear segment: only out-of-gamut values below -0.04 differ), and
    :func:`skimage.color.deltaE_ciede2000`'s formula in float64, in SIMD
    blocks without calls to libm. The mean equals scikit-image's to about
    1e-12, with no Lab copy of the image, on every core threadpoolctl
    allows. For 8-bit images, each thread keeps the differences of the
    pixel pairs (true colour, test colour) it has met in a small memo and
    computes only the new ones: about half the pairs of a quantized photo
    repeat; on noise, where none does, the memo pauses. On 12 MP uint8
    images quantized to 16 or 256 colours (mapped or dithered), one thread
    did the work of ``deltaE_ciede2000`` alone (on Lab values converted
    beforehand) in 1/14 to 1/16 of its CPU time (an upscaled photo) or
    1/12 to 1/14 (a mosaic of real photos), and that of ``rgb2lab``
    followed by ``deltaE_ciede2000`` in 1/35 to 1/44, on a shared machine
    with a load of 5 to 7 on 2 CPUs (``benchmarks/bench_metrics.py``;
    floats: about 4 to 5 times faster than ``deltaE_ciede2000`` alone).
    Float images have a memo of their own, keyed by the exact bits of the
    pair's values (a hit is the same pair, so the same difference), and a
    memo of the sRGB curve of the values (``photo / 255`` holds 256 values
    a channel, a quantized image its palette's): only new pairs are
    converted, and only their new values decoded; both pause on noise. On
    6 and 12 MP photos quantized to 16 or 256 colours (mapped or
    dithered), each image quantized in its own dtype, float32 and float64
    took 2.0 to 2.6 times as long as uint8, against 2.8 to 3.9 times
    before the float memos, and 1.3 to 1.7 times less than with the memos
    paused, on a shared machine with a load of 4 to 9 on 2 CPUs (``python
    benchmarks/bench_metrics.py --dtypes --megapixels 6``, or ``12``; a
    quieter machine gave 5.7 to 6.3 times before); on float noise, no
    slower. The mean is that of every pair computed to 1e-15 relative,
    and scikit-image's to 3e-15 (on float64 Lab). Each thread's float
    memos and their buffers take about 5 MiB.

    References
    ----------
    .. [1] G. Sharma, W. Wu and E. N. Dalal, "The CIEDE2000 color-difference
       formula: implementation notes, supplementary test data, and
       mathematical observations", Color Research & Application 30(1), 2005.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant.metrics import mean_delta_e
    >>> black = np.zeros((2, 2, 3))
    >>> white = np.ones((2, 2, 3))
    >>> round(mean_delta_e(black, white), 2)
    100.0
    >>> red = np.array([[255, 0, 0]], dtype=np.uint8)
    >>> darker_red = np.array([[245, 0, 0]], dtype=np.uint8)
    >>> round(mean_delta_e(red, darker_red), 2)
    2.11
    """
    from skquant._kernels import ciede2000_sum

    total = 0.0
    n_pixels = 0
    for i, (true, test, data_range_i, visible) in enumerate(
        pairs(image_true, image_test, data_range)
    ):
        n_channels = true.shape[-1] if true.ndim else 0
        if n_channels not in (3, 4):
            where = f"[{i}]" if is_image_list(image_true) else ""
            raise ValueError(
                "mean_delta_e needs sRGB images with 3 channels (or RGBA with 4) "
                f"on the last axis, got image_true{where} of shape {true.shape}."
            )
        sum_i, count_i = ciede2000_sum(
            true.reshape(-1, n_channels),
            test.reshape(-1, n_channels),
            scale=data_range_i,
            keep=None if visible is None else visible.reshape(-1),
        )
        total += sum_i
        n_pixels += count_i
    return total / n_pixels if n_pixels else 0.0


def _ssim_image(true, test, data_range, visible, strip_pixels):
    """SSIM map sum and count of one ``(H, W, C)`` image, in strips if large.

    scikit-image averages the SSIM map without its ``win_size // 2`` border,
    so a strip of rows computed with that many extra rows above and below
    gives exactly the map values of the whole image on its own rows. With a
    ``visible`` mask ``(H, W)``, hidden pixels are set to 0 in both images
    (they differ in nothing) and left out of the sum.
    """
    from skimage.metrics import structural_similarity as skimage_ssim

    height, width = true.shape[:2]
    small = height * width <= strip_pixels or min(height, width) < _SSIM_WIN_SIZE
    if visible is None and small:
        ssim = skimage_ssim(true, test, data_range=data_range, channel_axis=-1)
        return float(ssim), 1
    pad = _SSIM_WIN_SIZE // 2
    rows = max(1, strip_pixels // width)
    total = 0.0
    count = 0
    for start in range(pad, height - pad, rows):
        stop = min(start + rows, height - pad)
        strip_true = true[start - pad : stop + pad]
        strip_test = test[start - pad : stop + pad]
        if visible is not None:
            shown = visible[start - pad : stop + pad, :, None]
            strip_true = np.where(shown, strip_true, 0).astype(true.dtype)
            strip_test = np.where(shown, strip_test, 0).astype(test.dtype)
        _, ssim_map = skimage_ssim(
            strip_true, strip_test, data_range=data_range, channel_axis=-1, full=True
        )
        kept = ssim_map[pad : pad + stop - start, pad : width - pad]
        if visible is not None:
            kept = kept[visible[start:stop, pad : width - pad]]
        total += float(np.sum(kept, dtype=np.float64))
        count += kept.size
    if count == 0:  # nothing visible inside the border
        return 0.0, 0
    return total / count, 1


def structural_similarity(image_true, image_test, *, data_range=None):
    """Mean structural similarity (SSIM) between two images.

    Parameters
    ----------
    image_true : ndarray or list of ndarray
        Reference image ``(H, W, C)``, batch of images ``(N, H, W, C)``, or
        list of images (possibly of different sizes). Each side must be at
        least 7 pixels.
    image_test : ndarray or list of ndarray
        Test image(s), same shape(s) as ``image_true``.
    data_range : float, default=None
        Distance between the lowest and highest possible values. ``None``
        infers it from the dtype: 255 for uint8, 65535 for uint16, 1.0 for
        float, whose values must then lie in [0, 1] (0-255 floats need
        ``data_range=255``).

    Returns
    -------
    ssim : float
        Mean SSIM over pixels and channels, in [-1, 1], 1 for identical
        images. For a batch or a list, the mean over images. For RGBA, the
        mean over the pixels that are not fully transparent in
        ``image_true``, with the hidden pixels set to 0 in both images so
        that they add no difference to their neighbours' windows; an image
        with no visible pixel is left out of the mean.

    Raises
    ------
    ValueError
        If the shapes differ, the arrays are not images (a 2-D array is read
        as ``(n_pixels, n_channels)`` pixels, which have no neighbourhood),
        ``data_range`` cannot be inferred, or float data without
        ``data_range`` is clearly not in [0, 1].

    See Also
    --------
    skimage.metrics.structural_similarity : Computes the value for each image.
    ssim_scorer : SSIM of a quantizer's output, for model selection.

    Notes
    -----
    Each image is scored by :func:`skimage.metrics.structural_similarity`
    with ``channel_axis=-1`` and its default 7x7 uniform window. Images
    larger than 262,144 pixels are scored in horizontal strips, which
    gives the same value with bounded memory.

    References
    ----------
    .. [1] Z. Wang, A. C. Bovik, H. R. Sheikh and E. P. Simoncelli, "Image
       quality assessment: from error visibility to structural similarity",
       IEEE Transactions on Image Processing 13(4), 2004.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> from skquant.metrics import structural_similarity
    >>> image = data.astronaut()[:64, :64]
    >>> structural_similarity(image, image)
    1.0
    >>> coarse = (image // 64) * 64 + 32
    >>> round(structural_similarity(image, coarse), 2)
    0.66
    """
    scores = []
    for i, (true, test, data_range_i, visible) in enumerate(
        pairs(image_true, image_test, data_range)
    ):
        if true.ndim not in (3, 4):
            where = f"[{i}]" if is_image_list(image_true) else ""
            raise ValueError(
                "structural_similarity needs an image (H, W, n_channels) or a "
                f"batch (N, H, W, n_channels), got image_true{where} of shape "
                f"{true.shape}. A 2-D array is read as (n_pixels, n_channels) "
                "pixels, which have no spatial neighbourhood."
            )
        if true.ndim == 3:
            true = true[None]
            test = test[None]
            visible = None if visible is None else visible[None]
        for j in range(true.shape[0]):
            shown = None if visible is None or visible[j].all() else visible[j]
            score, seen = _ssim_image(
                true[j], test[j], data_range_i, shown, _SSIM_STRIP_PIXELS
            )
            if seen:
                scores.append(score)
    # images with nothing visible are left out; none visible at all: identical
    return float(np.mean(scores)) if scores else 1.0
