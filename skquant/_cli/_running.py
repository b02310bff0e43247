"""Running a ``skquant`` plan: :func:`main`, then one palette per image
(:func:`_run_separate`) or one shared palette (:func:`_run_shared`); each
image is read, quantized and written by :func:`_process`, in threads with
``--jobs`` (see ``_parallel``)."""

import dataclasses
import os
import sys
import time

import numpy as np

from skquant._cli._colour import colour_handling, from_srgb, holds_profile, to_srgb
from skquant._cli._inputs import Source, conform, expand_inputs, read_source
from skquant._cli._output import (
    default_suffix,
    deliver,
    encoded,
    format_path,
    input_size,
    is_indexed_output,
    quality_of,
    result_labels,
    source_metadata,
    truecolour_note,
)
from skquant._cli._parallel import n_workers, run_in_threads
from skquant._cli._parser import (
    DB_PER_QUALITY,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_LARGER,
    EXIT_OK,
    EXIT_QUALITY,
    EXIT_USAGE,
    STDIO,
    UsageError,
    build_parser,
)
from skquant._cli._planning import (
    InputIndex,
    Settings,
    _check_collisions,
    _check_plan,
    _is_pattern,
    _settings,
    check_output_path,
    endangered_inputs,
    fill_pattern,
    plan_outputs,
    wants_default_outputs,
)
from skquant._cli._report import (
    _describe,
    _error_message,
    _report_totals,
    _Reporter,
    printable,
)

# =============================================================================
# One image
# =============================================================================


@dataclasses.dataclass
class Task:
    """One image to quantize."""

    index: int
    source: Source
    settings: Settings
    output: str | None = None
    palette_output: str | None = None
    image: np.ndarray | None = None
    metadata: dict | None = None  # of a preloaded image (None: read it)
    in_srgb: bool = False  # a preloaded image is converted already
    overwrite: bool = False
    stats: bool = False
    quantizer: object = None
    conform_to: tuple | None = None
    want_labels: bool = False
    strip: bool = False
    skip_if_larger: bool = False
    keep_16bit: bool = False


@dataclasses.dataclass
class Result:
    """What became of one task."""

    index: int
    label: str
    output: str | None = None
    shape: tuple = ()
    n_colors: int = 0
    seconds: float = 0.0
    stats_seconds: float = 0.0  # --stats' own time, not in seconds
    psnr: float | None = None
    delta_e: float | None = None
    error: str | None = None
    notes: list = dataclasses.field(default_factory=list)
    labels: np.ndarray | None = None
    skipped: str | None = None  # why no file was written (exit 98 or 99)
    skip_status: int = EXIT_OK
    n_bytes: int | None = None
    colour_note: tuple | None = None  # said once per run (see _colour)


def _process(task):
    """Read, quantize and write one image; never raises for a bad input."""
    source = task.source
    result = Result(index=task.index, label=source.label)
    if isinstance(task.image, str):  # read early, and that failed
        result.error = task.image
        return result
    try:
        image = task.image if task.image is not None else read_source(source)
        metadata = task.metadata
        if metadata is None:
            metadata = source_metadata(source)
        shared = task.quantizer is not None
        keep = not (task.strip or shared) and holds_profile(task.output)
        handling = colour_handling(
            metadata,
            source.label,
            task.settings.color_space,
            keep=keep,
            given=task.settings.given_colors,
        )
        result.colour_note = handling.note
        if task.image is None or not task.in_srgb:
            image = to_srgb(image, handling)
        if task.strip:
            metadata = None
        elif not handling.keep and metadata:
            metadata = {k: v for k, v in metadata.items() if k != "icc_profile"}
        if task.conform_to is not None:
            image = conform(image, *task.conform_to)
        result.shape = image.shape
        start = time.perf_counter()
        quantizer = task.quantizer
        if quantizer is None:
            quantizer, result.notes = task.settings.fit(
                image, image.dtype, image.shape[2]
            )
        result.n_colors = int(quantizer.n_colors_)
        path = task.output and task.output.replace("{k}", str(result.n_colors))
        indexed = path is not None and is_indexed_output(
            format_path(path), image, quantizer, task.keep_16bit
        )
        if path is not None and not indexed and result.n_colors > 256:
            if format_path(path).lower().endswith(".png"):
                result.notes.append(truecolour_note(path, result.n_colors))
        quality = task.settings.quality
        quantized = labels = None
        if task.stats or quality or (path is not None and not indexed):
            quantized = quantizer.transform(image)
        if indexed or task.want_labels:
            dithered = task.settings.dither != "none"
            labels = result_labels(image, quantizer, dithered)
        result.seconds = time.perf_counter() - start
        if quality is not None:
            _check_quality(result, image, quantized, quality[0])
            if result.skipped:
                return result
        if not task.stats:
            del image  # not needed any more: keep the peak memory down
        if path is not None:
            palette = from_srgb(quantizer.palette_, handling)
            written = from_srgb(quantized, handling) if not indexed else None
            _write_output(task, result, path, (labels, palette, written), metadata)
            if result.skipped:  # --skip-if-larger: no palette file either
                return result
        if task.palette_output is not None:
            path = task.palette_output.replace("{k}", str(result.n_colors))
            check_output_path(path, source, task.overwrite)
            from skquant.io import write_palette

            write_palette(path, quantizer.palette_, overwrite=task.overwrite)
        if task.want_labels:
            result.labels = labels
        if task.stats:
            start = time.perf_counter()
            result.psnr, result.delta_e = image_stats(image, quantized)
            result.stats_seconds = time.perf_counter() - start
    except Exception as exc:  # one line per failed input, the batch goes on
        result.error = _error_message(exc, source)
    return result


def _check_quality(result, image, quantized, minimum):
    """``--quality MIN-MAX``: mark a result below MIN as not to be written."""
    from skquant import metrics

    psnr = metrics.peak_signal_noise_ratio(image, quantized)
    if psnr < DB_PER_QUALITY * minimum:
        result.skip_status = EXIT_QUALITY
        result.skipped = (
            f"{result.label}: quality {quality_of(psnr):.0f} (PSNR {psnr:.2f} dB) "
            f"with K={result.n_colors} is below the --quality minimum {minimum} "
            f"({DB_PER_QUALITY * minimum:g} dB); not written"
        )


def _write_output(task, result, path, pixels, metadata):
    """Encode one result, then write it unless --skip-if-larger says no.

    ``pixels`` is ``(labels, palette, image)``: an indexed file is written
    when ``image`` is None, else ``image`` as it is.
    """
    from skquant.io._images import image_writer
    from skquant.io._indexed import indexed_writer

    source = task.source
    if path != STDIO:
        check_output_path(path, source, task.overwrite)
    name = format_path(path)
    labels, palette, image = pixels
    if image is None:
        write = indexed_writer(name, labels, palette, metadata=metadata)
    else:
        write = image_writer(name, image, metadata=metadata)
    try:
        data = encoded(write)
    except OSError as exc:  # name the output, not the input
        if exc.filename is not None or exc.strerror is None:
            raise
        raise OSError(exc.errno, exc.strerror, result.output or path) from exc
    size = input_size(source) if task.skip_if_larger else None
    if size is not None and len(data) > size:
        result.skip_status = EXIT_LARGER
        result.skipped = (
            f"{source.label}: the result ({len(data)} bytes) is larger than the "
            f"input ({size} bytes); not written (--skip-if-larger)"
        )
        return
    deliver(path, data, task.overwrite)
    result.output = "stdout" if path == STDIO else path
    result.n_bytes = len(data)


def image_stats(image, quantized):
    """PSNR and mean CIEDE2000 of a result; :mod:`skquant.metrics` leaves
    fully transparent pixels out (they show nothing, whatever their colour)."""
    from skquant import metrics

    return (
        metrics.peak_signal_noise_ratio(image, quantized),
        metrics.mean_delta_e(image, quantized),
    )


# =============================================================================
# A plan
# =============================================================================


def _preload(sources, positions, images=None, metadata=None):
    """Read the inputs at ``positions`` now, before any output is written.

    Returns ``{position: (image, metadata)}`` (taken from ``images`` and
    ``metadata`` when given); for an input that cannot be read, the error
    message instead of the image.
    """
    loaded = {}
    for i in sorted(positions):
        if images is not None:
            loaded[i] = images[i], metadata[i]
            continue
        try:
            loaded[i] = read_source(sources[i]), source_metadata(sources[i])
        except Exception as exc:
            loaded[i] = _error_message(exc, sources[i]), None
    return loaded


def _read_ahead(task):
    """A task with its image read (for ``--jobs``: see ``run_in_threads``),
    and the bytes that holds."""
    if task.image is not None:
        return task, 0
    image, metadata = _preload([task.source], [0])[0]
    # as read: not converted to sRGB yet (even where other images are)
    task = dataclasses.replace(task, image=image, metadata=metadata, in_srgb=False)
    return task, getattr(image, "nbytes", 0)


def _run_tasks(tasks, n_jobs, reporter, stats):
    """Run tasks, in threads with ``--jobs``; return results in order."""
    results = []
    n_threads = n_workers(n_jobs, len(tasks))
    stream = run_in_threads(_process, tasks, n_threads, prepare=_read_ahead)
    for result in stream:
        reporter.once(result.colour_note)
        for note in result.notes:
            reporter.error(f"{result.label}: {note}", kind="warning")
        if result.error is not None:
            reporter.error(result.error)
        elif result.skipped is not None:
            reporter.error(result.skipped, kind="warning")
            reporter.status = max(reporter.status, result.skip_status)
        else:
            reporter.line(_describe(result, stats))
        reporter.advance()
        results.append(result)
    return sorted(results, key=lambda r: r.index)


def _tasks(args, settings, sources, outputs, loaded, palette_outputs=None, **shared):
    """One task per source; ``loaded`` holds the inputs read in advance
    (see :func:`_preload`)."""
    return [
        Task(
            index=i,
            source=source,
            settings=settings,
            output=outputs[i],
            palette_output=None if palette_outputs is None else palette_outputs[i],
            image=loaded.get(i, (None, None))[0],
            metadata=loaded.get(i, (None, None))[1],
            overwrite=args.overwrite,
            stats=args.stats,
            strip=args.strip,
            skip_if_larger=args.skip_if_larger,
            keep_16bit=args.keep_16bit,
            **shared,
        )
        for i, source in enumerate(sources)
    ]


def _run_separate(args, settings, sources, outputs, reporter, index):
    """One palette per image."""
    palette_outputs = [None] * len(sources)
    if args.save_palette is not None:
        pattern = args.save_palette
        palette_outputs = [fill_pattern(pattern, s, i) for i, s in enumerate(sources)]
        _check_collisions(palette_outputs, sources, "--save-palette")
    loaded = {}
    if args.overwrite:  # without it, an input is never replaced anyway
        endangered = endangered_inputs(index, sources, [outputs, palette_outputs])
        loaded = _preload(sources, endangered)
    tasks = _tasks(args, settings, sources, outputs, loaded, palette_outputs)
    results = _run_tasks(tasks, args.jobs, reporter, args.stats)
    if args.stats:
        _report_totals(results, reporter)
    return all(r.error is None for r in results)


def _run_shared(args, settings, sources, outputs, reporter, index):
    """One palette fitted on all images (``--shared-palette``, ``--animate``)."""
    from skquant.io import write_animated_gif, write_palette

    images, metadata, failed = [], [], False
    for source in sources:
        try:
            image = read_source(source)
            metadata.append(source_metadata(source))
            # one palette means one colour space: tagged inputs go to sRGB
            handling = colour_handling(
                metadata[-1],
                source.label,
                settings.color_space,
                keep=False,
                given=settings.given_colors,
            )
            reporter.once(handling.note)
            images.append(to_srgb(image, handling))
        except (ValueError, TypeError, OSError, MemoryError) as exc:
            reporter.error(_error_message(exc, source))
            failed = True
    if failed:
        reporter.error("no file written: the shared palette needs every input")
        return False
    n_channels = max(image.shape[2] for image in images)
    dtypes = {image.dtype for image in images}
    dtype = np.dtype(np.uint8) if np.dtype(np.uint8) in dtypes else images[0].dtype
    images = [conform(image, n_channels, dtype) for image in images]
    if args.animate is not None:
        shapes = {image.shape[:2] for image in images}
        if len(shapes) > 1:
            sizes = ", ".join(f"{w}x{h}" for h, w in sorted(shapes))
            reporter.error(
                f"--animate needs frames of one size, got {sizes}; no file written"
            )
            return False

    start = time.perf_counter()
    try:
        quantizer, notes = settings.fit(images, dtype, n_channels)
    except (ValueError, TypeError, MemoryError) as exc:
        reporter.error(f"fitting the shared palette: {str(exc).rstrip('.')}")
        return False
    for note in notes:
        reporter.error(f"shared palette: {note}", kind="warning")
    fit_seconds = time.perf_counter() - start
    k = int(quantizer.n_colors_)
    if args.stats:
        reporter.line(
            f"shared palette: K={k} from {len(images)} images in {fit_seconds:.3f} s"
        )

    # Every output is checked before any is written.
    palette_path = None
    if args.save_palette is not None:
        palette_path = args.save_palette
        if _is_pattern(palette_path):
            palette_path = palette_path.format(
                stem="palette", ext="", parent="", index=0, k=k
            )
    outputs = [None if p is None else p.replace("{k}", str(k)) for p in outputs]
    try:
        for path in outputs + [palette_path, args.animate]:
            if path is not None:
                check_output_path(path, None, args.overwrite, index)
    except ValueError as exc:
        reporter.error(f"{exc}; no file written")
        return False
    # Inputs that an output of another input replaces go to their task as
    # images: they are not read again after being written over.
    endangered = endangered_inputs(index, sources, [outputs])
    loaded = _preload(sources, endangered, images=images, metadata=metadata)

    tasks = _tasks(
        args,
        settings,
        sources,
        outputs,
        loaded,
        quantizer=quantizer,
        conform_to=(n_channels, dtype),
        want_labels=args.animate is not None,
        in_srgb=True,
    )
    del images, loaded
    results = _run_tasks(tasks, args.jobs, reporter, args.stats)
    ok = all(r.error is None for r in results)
    if args.stats:
        _report_totals(results, reporter, fit_seconds)
    if palette_path is not None and ok:
        try:
            write_palette(palette_path, quantizer.palette_, overwrite=args.overwrite)
        except (ValueError, OSError) as exc:
            reporter.error(f"{palette_path}: {str(exc).rstrip('.')}")
            ok = False
    if args.animate is not None and ok:
        palette = quantizer.palette_
        try:
            write_animated_gif(
                args.animate,
                [r.labels for r in results],
                palette,
                duration=args.duration,
                overwrite=args.overwrite,
            )
        except (ValueError, OSError) as exc:
            reporter.error(f"{args.animate}: {str(exc).rstrip('.')}")
            return False
        reporter.line(
            f"{len(results)} frames -> {args.animate}: K={len(palette)}, "
            f"{args.duration} ms per frame"
        )
    return ok


def main(argv=None):
    """Run the ``skquant`` command; return its exit status.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments, without the program name; None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 when every input was written, 1 when some failed, 2 for a usage
        error, 98 when --skip-if-larger and 99 when --quality left some
        results unwritten (as pngquant), 130 when interrupted.
    """
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("skquant: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: still one line, not a traceback
        text = f"skquant: error: unexpected {type(exc).__name__}: {exc} "
        text += "(please report this at the skquant issue tracker)"
        print(printable(text, sys.stderr), file=sys.stderr)
        return EXIT_FAILED


def _suffix_values(argv):
    """``--ext -fs8.png`` as ``--ext=-fs8.png``: pngquant's suffixes start
    with a dash, which argparse would take for an option."""
    argv = list(sys.argv[1:] if argv is None else argv)
    for i in range(len(argv) - 1):
        if argv[i] == "--ext":
            argv[i : i + 2] = [f"--ext={argv[i + 1]}"]
            break
    return argv


def _main(argv):
    from skquant import _warm  # no numba: what a cold cache compiles ahead

    _warm.command_line()
    parser = build_parser()
    try:
        args = parser.parse_args(_suffix_values(argv))
    except SystemExit as exc:  # --help, --version, or argparse's usage error
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    reporter = stdin_copy = None
    try:
        _check_bare_numbers(args.inputs)
        if STDIO in args.inputs:
            stdin_copy = _copy_stdin()
        sources, errors = expand_inputs(
            args.inputs, recursive=args.recursive, stdin_copy=stdin_copy
        )
        index = InputIndex(sources)
        _check_plan(args, sources, index)
        settings = _settings(args)
        suffix = None
        if wants_default_outputs(args):
            suffix = default_suffix(args.ext, args.dither)
        outputs, folders = plan_outputs(args.output, sources, suffix)
        to_stdout = STDIO in outputs
        reporter = _Reporter(
            len(sources), quiet=args.quiet, lines_to=sys.stderr if to_stdout else None
        )
        for message in errors:
            reporter.error(message)
        if not sources:
            return EXIT_FAILED
        for folder in folders:
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as exc:
                reporter.error(f"cannot create output folder {folder!r}: {exc}")
                return EXIT_FAILED
        if errors and (args.shared_palette or args.animate is not None):
            reporter.error("no file written: the shared palette needs every input")
            return EXIT_FAILED
        if args.shared_palette or args.animate is not None:
            ok = _run_shared(args, settings, sources, outputs, reporter, index)
        else:
            ok = _run_separate(args, settings, sources, outputs, reporter, index)
        if not ok or errors:
            return EXIT_FAILED
        return reporter.status or EXIT_OK
    except UsageError as exc:
        print(printable(f"skquant: error: {exc}", sys.stderr), file=sys.stderr)
        return EXIT_USAGE
    finally:
        if reporter is not None:
            reporter.close()
        if stdin_copy is not None:
            os.unlink(stdin_copy)


def _check_bare_numbers(inputs):
    """pngquant takes the colour count as a positional: suggest ``-k``."""
    for spec in inputs:
        if spec.strip().isdigit() and not os.path.lexists(spec):
            raise UsageError(
                f"{spec!r} is not a file; for {spec.strip()} colours use "
                f"-k {spec.strip()} (e.g. skquant photo.png -k {spec.strip()})"
            )


def _copy_stdin():
    """A temporary file holding the bytes of stdin (input ``-``)."""
    import tempfile

    data = sys.stdin.buffer.read()
    fd, path = tempfile.mkstemp(prefix="skquant-stdin-")
    with os.fdopen(fd, "wb") as fp:
        fp.write(data)
    return path
