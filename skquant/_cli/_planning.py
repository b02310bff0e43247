"""Planning a ``skquant`` run: where each result goes, which outputs are
allowed, which inputs must be read before anything is written, and the
settings of the palette (:class:`Settings`)."""

import dataclasses
import os
import re

import numpy as np

from skquant._cli._inputs import colors_in_units
from skquant._cli._output import default_output, posterized
from skquant._cli._parallel import caught_warnings
from skquant._cli._parser import (
    DB_PER_QUALITY,
    PALETTE_EXTENSIONS,
    PATTERN_FIELDS,
    STDIO,
    UsageError,
)

# =============================================================================
# Outputs
# =============================================================================


def _is_pattern(text):
    return text is not None and "{" in text


def _check_pattern(pattern, option):
    """Refuse patterns with unknown fields; raise UsageError."""
    sample = dict.fromkeys(PATTERN_FIELDS, "x")
    try:
        pattern.format(**sample)
    except KeyError as exc:
        raise UsageError(
            f"{option} pattern {pattern!r} has an unknown field {{{exc.args[0]}}}; "
            f"use {', '.join('{' + f + '}' for f in PATTERN_FIELDS)}"
        ) from None
    except (ValueError, IndexError) as exc:
        raise UsageError(f"{option} pattern {pattern!r} is malformed: {exc}") from None


def fill_pattern(pattern, source, index, k="{k}"):
    """The path of ``source`` for an output pattern (``k`` may stay a field)."""
    return pattern.format(
        stem=source.stem, ext=source.ext, parent=source.parent, index=index, k=k
    )


def _writable_image_extension(path, option):
    ext = os.path.splitext(path)[1].lower()
    if not _writable(ext):
        raise UsageError(
            f"{option} {path!r}: {ext or 'no extension'!s} is not an image "
            "format skquant can write; use .png, .gif, .jpg, .tif, .webp, ..."
        )


def _writable(ext):
    """Whether Pillow writes files ending in ``ext``."""
    from PIL import Image

    from skquant.io._pillow import _pillow_format

    return _pillow_format(ext) in Image.SAVE


def plan_outputs(output, sources, suffix=None):
    """Output paths and the folders to create for them.

    Returns ``(paths, folders)``: the output path of each source (a pattern's
    ``{k}`` is filled in after fitting; ``-`` for stdout) and the output
    folders that do not exist yet (``-o newdir/sub/x.png`` creates
    ``newdir/sub``). Without ``-o``, each source gets the ``suffix`` output
    next to it (see :func:`default_output`), or none when ``suffix`` is None.
    """
    if not sources or (output is None and suffix is None):
        return [None] * len(sources), []
    folders = set()
    option = "-o"
    if output is None:
        paths = [default_output(s, suffix) for s in sources]
        option = "--ext"
    elif output == STDIO:
        if len(sources) > 1:
            raise UsageError(
                f"-o - writes one image to stdout, but there are {len(sources)} "
                "inputs; give a folder (out/) or a pattern such as "
                "'out/{stem}.png'"
            )
        paths = [STDIO]
    elif _is_pattern(output):
        _check_pattern(output, "-o")
        paths = [fill_pattern(output, s, i) for i, s in enumerate(sources)]
    else:
        folder_mode = (
            os.path.isdir(output)
            or output.endswith(("/", os.sep))
            or (len(sources) > 1 and not os.path.splitext(output)[1])
        )
        if folder_mode:
            paths = [os.path.join(output, f"{s.stem}.png") for s in sources]
            folders.add(output)
        elif len(sources) > 1:
            raise UsageError(
                f"-o {output!r} is one file but there are {len(sources)} inputs; "
                "give a folder (out/) or a pattern such as 'out/{stem}.png'"
            )
        else:
            paths = [output]
    for path in paths:
        if path != STDIO:
            _writable_image_extension(path.replace("{k}", "0"), option)
    _check_collisions(paths, sources, option)
    folders.update(os.path.dirname(p) for p in paths if "{k}" not in os.path.dirname(p))
    return paths, sorted(f for f in folders - {""} if not os.path.isdir(f))


def _check_collisions(paths, sources, option):
    taken = {}
    for path, source in zip(paths, sources, strict=True):
        key = os.path.normcase(os.path.abspath(path))
        if key in taken:
            raise UsageError(
                f"inputs {taken[key].label!r} and {source.label!r} would both "
                f"write {path!r}; use an {option} pattern with {{parent}} or "
                "{index}"
            )
        taken[key] = source


# =============================================================================
# Inputs that outputs would replace
# =============================================================================


def _identity(path):
    """``(st_dev, st_ino)`` of an existing file, or None."""
    try:
        status = os.stat(path)
    except (OSError, ValueError):
        return None
    return status.st_dev, status.st_ino


def _digitless(path):
    """A path with every run of digits (and '#') as one '#': the key under
    which an output pattern with ``{k}`` finds the inputs it may name."""
    path = os.path.normcase(os.path.abspath(path))
    return re.sub(r"[0-9#]+", "#", path)


class InputIndex:
    """The input files, found by identity (links included) in O(1).

    Used to tell which outputs would replace an input, for any number of
    inputs and outputs in time proportional to their count.
    """

    def __init__(self, sources):
        self.by_identity = {}
        self.by_digitless = {}
        for source in sources:
            if source.path is None:
                continue
            identity = _identity(source.path)
            if identity is not None:
                self.by_identity.setdefault(identity, source)
            for name in {source.path, os.path.realpath(source.path)}:
                self.by_digitless.setdefault(_digitless(name), []).append(source)

    def find(self, path):
        """The input that ``path`` names, or None."""
        identity = _identity(path)
        return None if identity is None else self.by_identity.get(identity)

    def could_name(self, path):
        """The inputs that ``path`` may name once its ``{k}`` is filled in."""
        if "{k}" not in path:
            source = self.find(path)
            return [] if source is None else [source]
        marker = "\0"
        head, _, tail = os.path.abspath(path.replace("{k}", marker)).partition(marker)
        tail = tail.replace(marker, "#")
        regex = re.compile(
            re.escape(os.path.normcase(head))
            + r"[0-9]+"
            + re.escape(os.path.normcase(tail)).replace("\\#", "[0-9]+")
        )
        candidates = self.by_digitless.get(_digitless(path.replace("{k}", "1")), [])
        return [
            s
            for s in candidates
            if regex.fullmatch(os.path.normcase(os.path.abspath(s.path)))
            or regex.fullmatch(os.path.normcase(os.path.realpath(s.path)))
        ]


def check_output_path(path, source, overwrite, index=None):
    """Raise ValueError if writing ``path`` is not allowed.

    ``source`` is the input the output comes from; ``index`` (an
    :class:`InputIndex`) names the other inputs in the message. Only
    ``path`` itself is looked at: O(1) whatever the number of inputs.
    """
    if not overwrite and os.path.lexists(path):
        same = None
        if source is not None and source.path is not None:
            same = source if _identity(path) == _identity(source.path) else None
        if same is None and index is not None:
            same = index.find(path)
        if same is not None:
            raise ValueError(
                f"refusing to overwrite input {same.path!r} (use --overwrite)"
            )
        raise ValueError(f"{path!r} already exists (use --overwrite)")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"output folder {os.path.dirname(path)!r} does not exist")


def endangered_inputs(index, sources, output_lists):
    """Positions of inputs that an output of another input may replace.

    ``output_lists`` holds, for each kind of output (-o, --save-palette), the
    path of each source (or None). Those inputs are read before anything is
    written, so that no input is replaced before it is read.
    """
    position = {id(s): i for i, s in enumerate(sources)}
    found = set()
    for outputs in output_lists:
        for i, path in enumerate(outputs):
            if path is None:
                continue
            found.update(
                position[id(s)] for s in index.could_name(path) if s is not sources[i]
            )
    return found


# =============================================================================
# Settings
# =============================================================================


#: Estimator and select_n_colors arguments -> the options that set them.
OPTION_NAMES = {
    "max_colors": "-k",
    "n_colors": "-k",
    "min_psnr": "--min-psnr",
    "max_delta_e": "--max-delta-e",
    "color_space": "--color-space",
    "sample_size": "--sample-size",
    "random_state": "--seed",
    "fixed_colors": "--keep-colors",
    "dither": "--dither",
    "dither_strength": "--floyd",
    "dither_adaptive": "--plain-dither",
    "backend": "--backend",
}


def in_option_names(text):
    """A library message in the command line's words: ``min_psnr=30`` becomes
    ``--min-psnr 30``; arguments the command line left unset are dropped."""
    names = "|".join(OPTION_NAMES)
    text = re.sub(rf"(, )?\b({names})=None\b(, )?", lambda m: m[1] and m[3] or "", text)
    text = re.sub(rf"\b({names})=", lambda m: OPTION_NAMES[m[1]] + " ", text)
    return re.sub(rf"\b({names})\b", lambda m: OPTION_NAMES[m[1]], text)


#: ``--speed N`` -> estimator parameters (4, the default, changes none).
#: Slower: more k-means restarts (``n_init``; the fit already keeps the best
#: of 3 seeds on its coarse cells, so 4-8 gain little) and a tighter ``tol``.
#: Faster:
#: coarser histogram cells (``histogram_bins``, fewer points to cluster) and
#: fewer iterations. No speed samples pixels: pooling every pixel into the
#: histogram costs less than drawing a random sample (benchmarks/bench_cli.py
#: speed measures each level).
SPEED_PARAMS = {
    1: {"n_init": 8, "tol": 1e-5},
    2: {"n_init": 6, "tol": 1e-5},
    3: {"n_init": 4, "tol": 1e-5},
    4: {},
    5: {"histogram_bins": 48},
    6: {"histogram_bins": 48, "max_iter": 30, "tol": 1e-3},
    7: {"histogram_bins": 32},
    8: {"histogram_bins": 32, "max_iter": 20, "tol": 1e-3},
    9: {"histogram_bins": 24, "max_iter": 15, "tol": 1e-3},
    10: {"histogram_bins": 16, "max_iter": 10, "tol": 1e-2},
    11: {"histogram_bins": 12, "max_iter": 5, "tol": 1e-2},
}


@dataclasses.dataclass
class Settings:
    """What the command line asks of the estimator."""

    n_colors: int | None = None
    color_space: str = "rgb"
    dither: str = "none"
    dither_strength: float = 1.0
    dither_adaptive: bool = True
    backend: str = "sklearn"
    sample_size: object = "auto"
    seed: int = 0
    palette: np.ndarray | None = None
    keep_colors: np.ndarray | None = None
    min_psnr: float | None = None
    max_delta_e: float | None = None
    quality: tuple | None = None
    posterize: int | None = None
    speed: int = 4

    @property
    def given_colors(self):
        """Whether colours are given (a palette file, ``--remap``, kept
        colours): sRGB colours, matched with the pixels in sRGB."""
        return self.palette is not None or self.keep_colors is not None

    def fit(self, X, dtype, n_channels):
        """Fit on ``X`` (an image or a list); return ``(quantizer, notes)``.

        ``notes`` are the messages of the warnings raised while fitting.
        """
        params = {
            "backend": self.backend,
            "color_space": self.color_space,
            "sample_size": None if self.sample_size == "all" else self.sample_size,
            "random_state": self.seed,
            **SPEED_PARAMS[self.speed],
        }
        if self.dither != "none":
            params["dither"] = self.dither
            params["dither_strength"] = self.dither_strength
            params["dither_adaptive"] = self.dither_adaptive
        if self.keep_colors is not None:
            params["fixed_colors"] = colors_in_units(
                self.keep_colors, dtype, n_channels
            )
        with caught_warnings() as caught:
            quantizer = self._fit(X, dtype, n_channels, params)
            if self.posterize:
                palette = posterized(quantizer.palette_, self.posterize)
                params.pop("fixed_colors", None)
                quantizer = _fit_palette(X, len(palette), palette=palette, **params)
        # Fewer distinct colours than K is no news here: "K=" shows it
        # (matched by name: scikit-learn need not be imported for it).
        notes = [
            in_option_names(str(w.message).rstrip("."))
            for w in caught
            if not {c.__name__ for c in w.category.__mro__} & _QUIET_WARNINGS
        ]
        if self.quality is not None:  # in the words of the option given
            target = f"--quality MAX {self.quality[1]}"
            notes = [re.sub(r"--min-psnr [0-9.e+-]+", target, n) for n in notes]
        return quantizer, list(dict.fromkeys(notes))

    def _fit(self, X, dtype, n_channels, params):
        if self.palette is not None:
            palette = colors_in_units(self.palette, dtype, n_channels)
            return _fit_palette(X, len(palette), palette=palette, **params)
        min_psnr = self.min_psnr
        if self.quality is not None:  # the fewest colours that reach MAX
            min_psnr = max(DB_PER_QUALITY * self.quality[1], 1e-6)
        if min_psnr is not None or self.max_delta_e is not None:
            return _select(
                X,
                min_psnr=min_psnr,
                max_delta_e=self.max_delta_e,
                max_colors=self.n_colors or 256,
                **params,
            )
        return _fit_palette(X, self.n_colors or 16, **params)


#: Warnings that say the data hold fewer colours than K (the K shown says it).
_QUIET_WARNINGS = {"ConvergenceWarning", "FewerColorsWarning"}


class EnginePalette:
    """A palette fitted by :mod:`skquant._engine`, with the estimator's names
    the command uses (``palette_``, ``n_colors_``, ``predict``,
    ``transform``); picklable for ``--jobs``."""

    def __init__(self, fitted):
        self.fitted = fitted
        self.palette_ = fitted.palette
        self.n_colors_ = fitted.n_colors

    def predict(self, image):
        return self.fitted.label(image)

    def transform(self, image):
        return self.fitted.map(image)


def _select(X, **kwargs):
    """The fewest colours that reach a target: ``skquant._select``'s
    engine-only ``select_palette`` (no scikit-learn import) where it exists,
    else ``select_n_colors``, which imports scikit-learn."""
    from skquant import _select

    if hasattr(_select, "select_palette"):
        return EnginePalette(_select.select_palette(X, **kwargs))
    return _select.select_n_colors(X, **kwargs)


def _fit_palette(X, n_colors, **params):
    """Fit with the engine: no scikit-learn import, a fast start."""
    from skquant import _engine

    return EnginePalette(_engine.fit(X, n_colors, **params))


def _read_option_palette(path, option):
    from skquant.io import read_palette

    try:
        return read_palette(path)
    except FileNotFoundError:
        raise UsageError(f"{option} {path!r}: no such file") from None
    except (ValueError, OSError) as exc:
        raise UsageError(f"{option} {path!r}: {str(exc).rstrip('.')}") from None


def _remap_palette(path, n_colors, settings):
    """``--remap IMAGE``: the image's own colours (uint8) when it holds at
    most 256, else ``n_colors`` learned from it with the run's settings."""
    from skquant.io import read_image
    from skquant.io._indexed import _few_colors

    try:
        image = read_image(path)
    except FileNotFoundError:
        raise UsageError(f"--remap {path!r}: no such file") from None
    except (ValueError, OSError) as exc:
        raise UsageError(f"--remap {path!r}: {str(exc).rstrip('.')}") from None
    if image.dtype == np.uint16:
        image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if image.shape[2] < 3:  # gray (and alpha): as RGB(A)
        image = np.concatenate([image[:, :, :1]] * 3 + [image[:, :, 1:]], axis=2)
    # Given colours are sRGB colours (see _colour): a tagged image's too.
    from skquant.io._metadata import read_metadata
    from skquant.io._profiles import image_in_srgb

    image = image_in_srgb(image, read_metadata(path).get("icc_profile"))
    found = _few_colors(image)
    if found is not None:
        return found[1]
    params = {
        "backend": settings.backend,
        "color_space": settings.color_space,
        "random_state": settings.seed,
        **SPEED_PARAMS[settings.speed],
    }
    return _fit_palette(image, n_colors, **params).palette_


def _refuse(reason, *conflicts):
    """A usage error naming the first ``(given, option)`` that was given."""
    for given, option in conflicts:
        if given is not None:
            raise UsageError(f"{reason}; drop {option}")


def _settings(args):
    settings = Settings(
        n_colors=args.colors,
        color_space=args.color_space,
        dither=args.dither,
        dither_strength=1.0 if args.floyd is None else args.floyd,
        dither_adaptive=not args.plain_dither,
        backend=args.backend,
        sample_size=args.sample_size,
        seed=args.seed,
        min_psnr=args.min_psnr,
        max_delta_e=args.max_delta_e,
        quality=args.quality,
        posterize=args.posterize,
        speed=args.speed,
    )
    target = args.min_psnr is not None or args.max_delta_e is not None
    if args.quality is not None:
        _refuse(
            "--quality sets its own target",
            (target or None, "--min-psnr/--max-delta-e"),
            (args.palette, "--palette"),
            (args.shared_palette or args.animate or None, "--shared-palette/--animate"),
        )
        target = True
    if args.remap is not None:
        _refuse(
            "--remap picks the colours",
            (args.palette, "--palette"),
            (args.keep_colors, "--keep-colors"),
            (target or None, "--quality/--min-psnr/--max-delta-e"),
        )
        settings.palette = _remap_palette(args.remap, args.colors or 256, settings)
    if args.palette is not None:
        _refuse(
            "--palette fixes the colours",
            (args.colors, "-k"),
            (args.keep_colors, "--keep-colors"),
            (target or None, "--min-psnr/--max-delta-e"),
        )
        settings.palette = _read_option_palette(args.palette, "--palette")
    if args.keep_colors is not None:
        settings.keep_colors = _read_option_palette(args.keep_colors, "--keep-colors")
        k = args.colors or (256 if target else 16)
        if len(settings.keep_colors) > k:
            raise UsageError(
                f"--keep-colors {args.keep_colors!r} holds "
                f"{len(settings.keep_colors)} colours, more than K={k}"
            )
    if args.animate is not None:
        k = len(settings.palette) if settings.palette is not None else args.colors
        if k is not None and k > 256:
            raise UsageError(f"--animate: a GIF holds at most 256 colours, got K={k}")
    return settings


def wants_default_outputs(args):
    """Whether inputs get pngquant's outputs next to them: no -o, and
    neither --animate, --save-palette nor --stats alone (without --ext)."""
    if args.output is not None or args.animate is not None:
        return False
    if args.ext is not None:
        return True
    return args.save_palette is None and not args.stats


def _check_plan(args, sources, index):
    if args.ext is not None and (args.output is not None or args.animate):
        raise UsageError("--ext names the outputs when -o is not given; drop one")
    if args.animate is not None:
        if os.path.splitext(args.animate)[1].lower() != ".gif":
            raise UsageError(f"--animate {args.animate!r}: the file must end in .gif")
        if index.find(args.animate) is not None and not args.overwrite:
            raise UsageError(
                f"--animate {args.animate!r} is an input; refusing to "
                "overwrite it (use --overwrite)"
            )
    if args.save_palette is not None:
        ext = os.path.splitext(args.save_palette)[1].lower()
        if ext not in PALETTE_EXTENSIONS:
            raise UsageError(
                f"--save-palette {args.save_palette!r}: use one of "
                f"{', '.join(PALETTE_EXTENSIONS)}"
            )
        shared = args.shared_palette or args.animate is not None
        if _is_pattern(args.save_palette):
            _check_pattern(args.save_palette, "--save-palette")
        elif len(sources) > 1 and not shared:
            raise UsageError(
                f"--save-palette {args.save_palette!r}: each of the "
                f"{len(sources)} inputs gets its own palette; give a pattern "
                "such as '{stem}.gpl', or use --shared-palette"
            )
