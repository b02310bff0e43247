"""The ``skquant`` command line: quantize image files, one by one or in batches.

``main(argv)`` parses the command line into a plan (inputs, where each result
goes, the estimator settings), then runs it: one palette per image, or one
shared palette for all of them (``--shared-palette``, ``--animate``). Each
image is handled by :func:`_process`, which also runs in worker processes
with ``--jobs``. Failures of single inputs are reported as one line each and
give exit status 1; problems with the command line itself give status 2.
"""

import argparse
import dataclasses
import glob
import os
import re
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skquant._color import COLOR_SPACES

SAMPLE_PREFIX = "sample:"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: Palette file extensions understood by ``--palette``, ``--keep-colors`` and
#: ``--save-palette`` (see :mod:`skquant.io`).
PALETTE_EXTENSIONS = (".gpl", ".json", ".hex", ".txt", ".act")

#: Output formats written as indexed (mode "P") images when K <= 256.
INDEXED_EXTENSIONS = (".png", ".gif")

#: Fields of an output name pattern.
PATTERN_FIELDS = ("stem", "ext", "parent", "index", "k")


def _dither_choices():
    """'none' and every dithering method of the estimator."""
    from skquant._kernels import DITHER_METHODS

    return ("none", *DITHER_METHODS)


DESCRIPTION = """\
Reduce images to a palette of K colours with k-means (scikit-learn or OpenCV),
optionally in a perceptual colour space and with dithering. PNG and GIF
results are written as true indexed images when K <= 256."""

EPILOG = """\
inputs:
  image files, folders (their image files, sorted by name; -r descends into
  subfolders), glob patterns such as 'photos/*.jpg' (quote them), or
  sample:NAME for a bundled photo (sample:china.jpg, sample:flower.jpg, or a
  bundled skimage.data image such as sample:astronaut, sample:coffee).

outputs (-o):
  FILE           one input only; the extension picks the format.
  FOLDER/        each input becomes FOLDER/STEM.png (folder created if
                 missing); also used for an existing folder, or for a name
                 without extension when there are several inputs.
  PATTERN        a name with fields {stem} (input name without extension),
                 {ext} (its extension, without dot), {parent} (its folder's
                 name), {index} (position among the inputs, from 0) and {k}
                 (colours used), e.g. 'out/{stem}_k{k}.png'.
  PNG and GIF are written as indexed images with a colour table when K <= 256
  (transparency kept), except 16-bit inputs written as PNG, which stay 16-bit
  RGB(A); other formats are written as RGB(A). Existing files, and outputs
  that would replace an input, are refused unless --overwrite is given.
  Files are written atomically: a failed run leaves no partial file.

exit status:
  0    every input was quantized and written
  1    some inputs failed; each one is reported as 'skquant: error: ...'
       and the others are still written (with --shared-palette or --animate,
       nothing is written when an input fails)
  2    usage error: unknown option, bad option value, unreadable --palette or
       --keep-colors file, outputs that collide
  130  interrupted (Ctrl-C)

examples:
  skquant photo.jpg -k 16 -o photo_k16.png
  skquant 'shots/*.png' -k 32 --dither floyd-steinberg -o out/ --jobs 2
  skquant frames/ --animate anim.gif --duration 80 -k 64
  skquant logo.png --palette brand.gpl -o logo_brand.png
  skquant photo.jpg --min-psnr 32 -o 'photo_k{k}.png' --save-palette photo.gpl
  skquant sample:china.jpg -k 8 --stats"""


# =============================================================================
# Command line parsing
# =============================================================================


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer >= 0, got {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(
            f"expected a positive finite number, got {text}"
        )
    return value


#: The longest display time of a GIF frame (65535 hundredths of a second).
MAX_DURATION_MS = 655350


def _gif_duration(text):
    value = _positive_int(text)
    if value > MAX_DURATION_MS:
        raise argparse.ArgumentTypeError(
            f"a GIF frame shows for at most {MAX_DURATION_MS} ms, got {value}"
        )
    return value


def _sample_size(text):
    if text in ("auto", "all"):
        return text
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected 'auto', 'all' or a positive integer, got {text!r}"
        ) from None


def build_parser():
    """The ``argparse`` parser of the ``skquant`` command."""
    from skquant import __version__

    parser = argparse.ArgumentParser(
        prog="skquant",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="image file, folder, glob pattern or sample:NAME",
    )
    parser.add_argument(
        "-r",
        "--recursive",
        action="store_true",
        help="read image files in subfolders of folder inputs too",
    )
    parser.add_argument(
        "-V", "--version", action="version", version=f"%(prog)s {__version__}"
    )

    out = parser.add_argument_group("output")
    out.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="output file, folder or name pattern (see 'outputs' below)",
    )
    out.add_argument(
        "--animate",
        metavar="OUT.gif",
        help="write all inputs, in order, as the frames of one animated GIF "
        "with one shared palette (frames must have the same size)",
    )
    out.add_argument(
        "--duration",
        type=_gif_duration,
        default=100,
        metavar="MS",
        help="display time of each --animate frame in milliseconds, at most "
        f"{MAX_DURATION_MS} (default: 100)",
    )
    out.add_argument(
        "--save-palette",
        metavar="FILE",
        help="write the palette to FILE; the extension picks the format: "
        ".gpl (GIMP), .json, .hex/.txt (one #rrggbb per line), .act (Adobe). "
        "With several inputs and one palette each, FILE must be a pattern "
        "such as '{stem}.gpl'",
    )
    out.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing files, inputs included",
    )

    est = parser.add_argument_group("palette")
    est.add_argument(
        "-k",
        "--colors",
        type=_positive_int,
        default=None,
        metavar="K",
        help="number of palette colours (default: 16; the largest K tried "
        "with --min-psnr/--max-delta-e, default 256 there)",
    )
    est.add_argument(
        "--color-space",
        choices=COLOR_SPACES,
        default="rgb",
        help="space in which colours are clustered and matched: rgb (best "
        "PSNR), din99o (best CIEDE2000), lab, oklab (default: rgb)",
    )
    dither_choices = _dither_choices()
    est.add_argument(
        "--dither",
        choices=dither_choices,
        default="none",
        metavar="METHOD",
        help="dithering when mapping pixels onto the palette: "
        f"{', '.join(dither_choices)} (default: none)",
    )
    est.add_argument(
        "--backend",
        choices=("sklearn", "opencv"),
        default="sklearn",
        help="k-means implementation (default: sklearn)",
    )
    est.add_argument(
        "--sample-size",
        type=_sample_size,
        default="auto",
        metavar="N",
        help="pixels drawn at random to fit on: a number, 'all', or 'auto' "
        "(default: every pixel, pooled into a histogram, with sklearn; "
        "100000 with opencv)",
    )
    est.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random seed, for reproducible palettes (default: 0)",
    )
    est.add_argument(
        "--palette",
        metavar="FILE",
        help="map onto exactly the colours of this palette file, in its "
        "order (no fitting)",
    )
    est.add_argument(
        "--keep-colors",
        metavar="FILE",
        help="colours of this palette file are always kept, first in the "
        "palette; k-means picks the other K - m",
    )
    est.add_argument(
        "--shared-palette",
        action="store_true",
        help="fit one palette on all inputs together (frames, sprite sheets)",
    )
    est.add_argument(
        "--min-psnr",
        type=_positive_float,
        metavar="DB",
        help="pick the smallest K whose PSNR reaches DB decibels",
    )
    est.add_argument(
        "--max-delta-e",
        type=_positive_float,
        metavar="DE",
        help="pick the smallest K whose mean CIEDE2000 is at most DE",
    )

    run = parser.add_argument_group("run")
    run.add_argument(
        "-j",
        "--jobs",
        type=_non_negative_int,
        default=1,
        metavar="N",
        help="images processed in parallel (0: one per CPU; default: 1)",
    )
    run.add_argument(
        "--stats",
        action="store_true",
        help="report K used, PSNR, mean CIEDE2000 and time for every image",
    )
    run.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print errors only: no progress bar, no line per image",
    )
    return parser


class UsageError(Exception):
    """A problem with the command line itself (exit status 2)."""


# =============================================================================
# Inputs
# =============================================================================


@dataclasses.dataclass(frozen=True)
class Source:
    """One input image: a file, or a bundled sample photo."""

    label: str
    path: str | None = None
    sample: str | None = None

    @property
    def stem(self):
        name = self.sample if self.sample is not None else os.path.basename(self.path)
        return os.path.splitext(name)[0]

    @property
    def ext(self):
        name = self.sample if self.sample is not None else self.path
        return os.path.splitext(name)[1].lstrip(".")

    @property
    def parent(self):
        if self.path is None:
            return "sample"
        return os.path.basename(os.path.dirname(os.path.abspath(self.path)))


def _readable_extensions():
    from PIL import Image

    return {
        ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN
    }


def _folder_images(folder, recursive, extensions):
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(
            os.path.join(root, name)
            for name in sorted(files)
            if not name.startswith(".")
            and os.path.splitext(name)[1].lower() in extensions
        )
        if not recursive:
            break
    return found


def _component_regex(part):
    """A regular expression for one path component of a glob pattern.

    '**' stands for any number of folders (with their slashes); names that
    start with a dot match only a pattern that starts with one, as in glob.
    """
    if part == "**":
        return r"(?:(?!\.)[^/]*/)*"
    out = "" if part.startswith(".") else r"(?!\.)"
    i = 0
    while i < len(part):
        char = part[i]
        end = part.find("]", i + 2) if char == "[" else -1
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif end != -1:
            body = part[i + 1 : end]
            negate = "^" if body.startswith("!") else ""
            out += f"[{negate}{re.escape(body[1:] if negate else body)}]"
            i = end
        else:
            out += re.escape(char)
        i += 1
    return out + "/"


def _glob(pattern):
    """Files matching a glob pattern; '**' never follows symbolic links.

    :func:`glob.glob` follows links to folders under '**', so a link loop
    makes it run for ever; here the folders below the pattern's fixed part
    are walked with :func:`os.walk` (links not followed), as with -r.
    """
    if "**" not in pattern:
        return glob.glob(pattern)
    parts = pattern.replace(os.sep, "/").split("/")
    fixed = 0
    while fixed < len(parts) - 1 and not any(c in parts[fixed] for c in "*?["):
        fixed += 1
    base = "/".join(parts[:fixed]) or ("/" if pattern.startswith("/") else "")
    regex = "".join(_component_regex(p) for p in parts[fixed:])
    regex = re.compile(regex + r"(?!\.)[^/]*" if parts[-1] == "**" else regex[:-1])
    found = []
    for root, dirs, files in os.walk(base or ".", followlinks=False):
        dirs.sort()
        rel = os.path.relpath(root, base or ".").replace(os.sep, "/")
        prefix = "" if rel == "." else rel + "/"
        found.extend(
            os.path.join(base, prefix + name) if base else prefix + name
            for name in sorted(files)
            if regex.fullmatch(prefix + name)
        )
    return found


def expand_inputs(specs, *, recursive=False):
    """Turn INPUT arguments into sources; return ``(sources, errors)``.

    Folders give their image files (by extension), glob patterns the files
    they match; any other argument is taken as a file, read later. A file
    named twice is processed once.
    """
    extensions = _readable_extensions()
    sources, errors, seen = [], [], set()

    def add(path, label=None):
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            sources.append(Source(label=label or path, path=path))

    for spec in specs:
        if spec.startswith(SAMPLE_PREFIX):
            if spec not in seen:
                seen.add(spec)
                sources.append(Source(label=spec, sample=spec[len(SAMPLE_PREFIX) :]))
        elif os.path.isdir(spec):
            files = _folder_images(spec, recursive, extensions)
            if not files:
                errors.append(f"folder {spec!r} holds no image files")
            for path in files:
                add(path)
        elif os.path.lexists(spec) or not any(c in spec for c in "*?["):
            if spec.endswith(("/", os.sep)) or not os.path.lexists(spec):
                what = "folder" if spec.endswith(("/", os.sep)) else "file"
                errors.append(f"cannot read {spec!r}: no such {what}")
            else:
                add(spec)
        else:
            matches = sorted(path for path in _glob(spec) if os.path.isfile(path))
            if not matches:
                errors.append(f"no file matches {spec!r}")
            for path in matches:
                add(path)
    return sources, errors


#: The photos bundled with scikit-learn (read from its package folder).
SKLEARN_SAMPLES = ("china.jpg", "flower.jpg")

#: The single 2-D images bundled with scikit-image (no download needed).
SKIMAGE_SAMPLES = (
    "astronaut",
    "brick",
    "camera",
    "cat",
    "cell",
    "checkerboard",
    "chelsea",
    "clock",
    "coffee",
    "coins",
    "colorwheel",
    "grass",
    "gravel",
    "horse",
    "hubble_deep_field",
    "immunohistochemistry",
    "logo",
    "microaneurysms",
    "moon",
    "page",
    "retina",
    "rocket",
    "shepp_logan_phantom",
    "text",
)


def _sklearn_sample_path(name):
    """The file of a scikit-learn sample photo, found without importing it."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"sample image {name!r} needs scikit-learn installed")
    folder = spec.submodule_search_locations[0]
    return os.path.join(folder, "datasets", "images", name)


def load_sample(name):
    """A sample photo shipped with scikit-learn or scikit-image.

    Only bundled single images are offered: nothing is downloaded.
    """
    if name in SKLEARN_SAMPLES:
        from skquant.io import read_image

        return read_image(_sklearn_sample_path(name))
    if name not in SKIMAGE_SAMPLES:
        raise ValueError(
            f"unknown sample image {name!r}; use one of "
            f"{', '.join(SKLEARN_SAMPLES + SKIMAGE_SAMPLES)}"
        )
    from skimage import data

    image = np.asarray(getattr(data, name)())
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    elif image.dtype.kind == "f":
        image = np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8)
    return image


def read_source(source):
    """The image of a source as (H, W, 3 or 4), uint8 or uint16."""
    if source.sample is not None:
        image = load_sample(source.sample)
    else:
        from skquant.io import read_image

        image = read_image(source.path)
    if image.ndim == 2:
        image = image[:, :, np.newaxis]
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return image


def conform(image, n_channels, dtype):
    """Convert an image to ``n_channels`` (3 or 4) and ``dtype``, for sharing."""
    if image.dtype != dtype:
        if dtype == np.uint8 and image.dtype == np.uint16:
            image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
        else:
            image = image.astype(dtype)
    if image.shape[2] == 3 and n_channels == 4:
        opaque = np.full(image.shape[:2] + (1,), np.iinfo(dtype).max, dtype=dtype)
        image = np.concatenate([image, opaque], axis=2)
    return image


def colors_in_units(colors, dtype, n_channels):
    """Palette-file colours (uint8) in an image's dtype and channel count."""
    colors = np.asarray(colors, dtype=np.uint8)
    if colors.shape[1] == 4 and n_channels == 3:
        colors = colors[:, :3]
    elif colors.shape[1] == 3 and n_channels == 4:
        colors = np.hstack([colors, np.full((len(colors), 1), 255, np.uint8)])
    if dtype == np.uint16:
        return colors.astype(np.uint16) * 257
    return colors.astype(dtype)


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


def _writable_image_extension(path, option, writable):
    ext = os.path.splitext(path)[1].lower()
    if ext not in writable:
        raise UsageError(
            f"{option} {path!r}: {ext or 'no extension'!s} is not an image "
            "format skquant can write; use .png, .gif, .jpg, .tif, .webp, ..."
        )


def _writable_extensions():
    from PIL import Image

    return {
        ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.SAVE
    }


def plan_outputs(output, sources):
    """Output paths and the folders to create for them.

    Returns ``(paths, folders)``: the output path of each source (None
    without ``-o``; a pattern's ``{k}`` is filled in after fitting) and the
    output folders that do not exist yet (``-o newdir/sub/x.png`` creates
    ``newdir/sub``).
    """
    if output is None or not sources:
        return [None] * len(sources), []
    folders = set()
    if _is_pattern(output):
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
    writable = _writable_extensions()
    for path in paths:
        _writable_image_extension(path.replace("{k}", "0"), "-o", writable)
    _check_collisions(paths, sources, "-o")
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
# Quantizing one image
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
    "backend": "--backend",
}


def in_option_names(text):
    """A library message in the command line's words: ``min_psnr=30`` becomes
    ``--min-psnr 30``; arguments the command line left unset are dropped."""
    names = "|".join(OPTION_NAMES)
    text = re.sub(rf"(, )?\b({names})=None\b(, )?", lambda m: m[1] and m[3] or "", text)
    text = re.sub(rf"\b({names})=", lambda m: OPTION_NAMES[m[1]] + " ", text)
    return re.sub(rf"\b({names})\b", lambda m: OPTION_NAMES[m[1]], text)


@dataclasses.dataclass
class Settings:
    """What the command line asks of the estimator."""

    n_colors: int | None = None
    color_space: str = "rgb"
    dither: str = "none"
    backend: str = "sklearn"
    sample_size: object = "auto"
    seed: int = 0
    palette: np.ndarray | None = None
    keep_colors: np.ndarray | None = None
    min_psnr: float | None = None
    max_delta_e: float | None = None

    def fit(self, X, dtype, n_channels):
        """Fit on ``X`` (an image or a list); return ``(quantizer, notes)``.

        ``notes`` are the messages of the warnings raised while fitting.
        """
        params = {
            "backend": self.backend,
            "color_space": self.color_space,
            "sample_size": None if self.sample_size == "all" else self.sample_size,
            "random_state": self.seed,
        }
        # The newer options are passed only when used, so that the command
        # keeps working with estimators that do not know them.
        if self.dither != "none":
            params["dither"] = self.dither
        if self.keep_colors is not None:
            params["fixed_colors"] = colors_in_units(
                self.keep_colors, dtype, n_channels
            )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            quantizer = self._fit(X, dtype, n_channels, params)
        # Fewer distinct colours than K is no news here: "K=" shows it.
        notes = [
            in_option_names(str(w.message).rstrip("."))
            for w in caught
            if not issubclass(w.category, ConvergenceWarning)
        ]
        return quantizer, list(dict.fromkeys(notes))

    def _fit(self, X, dtype, n_channels, params):
        from skquant._quantizer import ColorQuantizer

        if self.palette is not None:
            palette = colors_in_units(self.palette, dtype, n_channels)
            quantizer = ColorQuantizer(len(palette), palette=palette, **params)
            return quantizer.fit(X)
        if self.min_psnr is not None or self.max_delta_e is not None:
            from skquant import select_n_colors

            return select_n_colors(
                X,
                min_psnr=self.min_psnr,
                max_delta_e=self.max_delta_e,
                max_colors=self.n_colors or 256,
                **params,
            )
        return ColorQuantizer(self.n_colors or 16, **params).fit(X)


@dataclasses.dataclass
class Task:
    """One image to quantize; picklable, for worker processes."""

    index: int
    source: Source
    settings: Settings
    output: str | None = None
    palette_output: str | None = None
    image: np.ndarray | None = None
    overwrite: bool = False
    stats: bool = False
    quantizer: object = None
    conform_to: tuple | None = None
    want_labels: bool = False


@dataclasses.dataclass
class Result:
    """What became of one task."""

    index: int
    label: str
    output: str | None = None
    shape: tuple = ()
    n_colors: int = 0
    seconds: float = 0.0
    psnr: float | None = None
    delta_e: float | None = None
    error: str | None = None
    notes: list = dataclasses.field(default_factory=list)
    labels: np.ndarray | None = None


def result_labels(image, quantizer, dithered):
    """The palette index of every pixel, as ``transform`` maps it.

    uint8 for palettes of at most 256 colours. Without dithering each pixel
    maps on its own, so the image is mapped a strip of rows at a time and
    only the small labels are held (for a 100 MP photo, 0.33x the image
    instead of the 1.33x of int32 labels and the 1x of a mapped copy).
    """
    dtype = np.uint8 if len(quantizer.palette_) <= 256 else np.int32
    if dithered:  # error diffusion runs over the whole image
        return quantizer.predict(image).astype(dtype, copy=False)
    labels = np.empty(image.shape[:2], dtype=dtype)
    rows = max(1, (1 << 20) // max(1, image.shape[1]))
    for top in range(0, image.shape[0], rows):
        labels[top : top + rows] = quantizer.predict(image[top : top + rows])
    return labels


def is_indexed_output(path, image, quantizer):
    """Whether ``path`` gets an indexed image: PNG or GIF, at most 256
    colours, not a 16-bit PNG (which stays RGB(A) to keep its depth)."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in INDEXED_EXTENSIONS or (ext == ".png" and image.dtype == np.uint16):
        return False
    k = len(quantizer.palette_)
    if ext == ".gif" and k > 256:
        raise ValueError(
            f"a GIF holds at most 256 colours, the palette has {k}; "
            "use -k 256 or less, or a PNG"
        )
    return k <= 256


def _error_message(exc, source):
    if isinstance(exc, FileExistsError) and exc.errno is None:  # from skquant.io
        text = str(exc).replace(" and overwrite=False", "").rstrip(".")
        return f"{text} (use --overwrite)"
    if isinstance(exc, FileNotFoundError) and exc.filename in (source.path, None):
        return f"cannot read {source.label!r}: no such file"
    if isinstance(exc, IsADirectoryError):
        return f"cannot read {source.label!r}: it is a folder"
    if isinstance(exc, PermissionError):
        return f"{exc.filename or source.label!r}: permission denied"
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename!r}: " if exc.filename else f"{source.label!r}: "
        return where + exc.strerror.lower()
    if isinstance(exc, RecursionError | OverflowError | MemoryError):
        text = f"{type(exc).__name__} ({str(exc).rstrip('.') or 'no details'})"
    else:
        text = str(exc).rstrip(".") or type(exc).__name__
    if source.label in text or (source.path and source.path in text):
        return text
    return f"{source.label}: {text}"


def _process(task):
    """Read, quantize and write one image; never raises for a bad input."""
    source = task.source
    result = Result(index=task.index, label=source.label)
    if isinstance(task.image, str):  # read early, and that failed
        result.error = task.image
        return result
    try:
        image = task.image if task.image is not None else read_source(source)
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
        indexed = path is not None and is_indexed_output(path, image, quantizer)
        quantized = labels = None
        if task.stats or (path is not None and not indexed):
            quantized = quantizer.transform(image)
        if indexed or task.want_labels:
            dithered = task.settings.dither != "none"
            labels = result_labels(image, quantizer, dithered)
        result.seconds = time.perf_counter() - start
        if not task.stats:
            del image  # not needed any more: keep the peak memory down
        if path is not None:
            check_output_path(path, source, task.overwrite)
            from skquant.io import write_image, write_indexed

            if indexed:
                write_indexed(
                    path, labels, quantizer.palette_, overwrite=task.overwrite
                )
            else:
                write_image(path, quantized, overwrite=task.overwrite)
            result.output = path
        if task.palette_output is not None:
            path = task.palette_output.replace("{k}", str(result.n_colors))
            check_output_path(path, source, task.overwrite)
            from skquant.io import write_palette

            write_palette(path, quantizer.palette_, overwrite=task.overwrite)
        if task.want_labels:
            result.labels = labels
        if task.stats:
            result.psnr, result.delta_e = image_stats(image, quantized)
    except Exception as exc:  # one line per failed input, the batch goes on
        result.error = _error_message(exc, source)
    return result


def image_stats(image, quantized):
    """PSNR and mean CIEDE2000 of a result; :mod:`skquant.metrics` leaves
    fully transparent pixels out (they show nothing, whatever their colour)."""
    from skquant import metrics

    return (
        metrics.peak_signal_noise_ratio(image, quantized),
        metrics.mean_delta_e(image, quantized),
    )


# =============================================================================
# Running a plan
# =============================================================================


class _Reporter:
    """Progress bar on stderr (tqdm, when present and useful) and lines."""

    def __init__(self, total, *, quiet):
        self.quiet = quiet
        self.bar = None
        if quiet or total < 2 or not _isatty(sys.stderr):
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=total, unit="image", file=sys.stderr, leave=False)

    def line(self, text):
        if not self.quiet:
            self._write(text, sys.stdout)

    def error(self, text, kind="error"):
        self._write(f"skquant: {kind}: {text}", sys.stderr)

    def _write(self, text, stream):
        text = printable(text, stream)
        if self.bar is not None:
            self.bar.write(text, file=stream)
        else:
            print(text, file=stream, flush=True)

    def advance(self):
        if self.bar is not None:
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def printable(text, stream):
    """``text`` with what ``stream`` cannot encode written as escapes.

    File names that are not valid in the locale's encoding reach Python as
    lone surrogates; printing them as they are would raise.
    """
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:
        pass
    return text


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _describe(result, stats):
    height, width = result.shape[:2]
    head = f"{result.label} -> {result.output}" if result.output else result.label
    text = f"{head}: {width}x{height}, K={result.n_colors}"
    if stats:
        text += (
            f", PSNR {result.psnr:.2f} dB, dE00 {result.delta_e:.2f}, "
            f"{result.seconds:.3f} s"
        )
    return text


def _run_tasks(tasks, n_jobs, reporter, stats):
    """Run tasks, in worker processes when asked; return results in order."""
    results = []
    if n_jobs != 1 and len(tasks) > 1:
        from joblib import Parallel, delayed

        runner = Parallel(
            n_jobs=-1 if n_jobs == 0 else min(n_jobs, len(tasks)),
            return_as="generator_unordered",
        )
        stream = runner(delayed(_process)(task) for task in tasks)
    else:
        stream = map(_process, tasks)
    for result in stream:
        for note in result.notes:
            reporter.error(f"{result.label}: {note}", kind="warning")
        if result.error is not None:
            reporter.error(result.error)
        else:
            reporter.line(_describe(result, stats))
        reporter.advance()
        results.append(result)
    return sorted(results, key=lambda r: r.index)


def _report_totals(results, reporter, extra_seconds=0.0):
    done = [r for r in results if r.error is None]
    if len(results) < 2 or not done:
        return
    reporter.line(
        f"total: {len(done)} of {len(results)} images, "
        f"mean PSNR {np.mean([r.psnr for r in done]):.2f} dB, "
        f"mean dE00 {np.mean([r.delta_e for r in done]):.2f}, "
        f"{sum(r.seconds for r in done) + extra_seconds:.3f} s"
    )


def _read_option_palette(path, option):
    from skquant.io import read_palette

    try:
        return read_palette(path)
    except FileNotFoundError:
        raise UsageError(f"{option} {path!r}: no such file") from None
    except (ValueError, OSError) as exc:
        raise UsageError(f"{option} {path!r}: {str(exc).rstrip('.')}") from None


def _check_supported(args):
    """Refuse options that the installed estimator does not offer yet."""
    from skquant._quantizer import ColorQuantizer

    params = ColorQuantizer().get_params()
    wanted = [
        ("--dither", "dither", args.dither != "none"),
        ("--palette", "palette", args.palette is not None),
        ("--keep-colors", "fixed_colors", args.keep_colors is not None),
    ]
    for option, name, used in wanted:
        if used and name not in params:
            raise UsageError(
                f"{option} needs ColorQuantizer({name}=...), which this version "
                "of skquant does not have"
            )
    if args.min_psnr is not None or args.max_delta_e is not None:
        import skquant

        if not hasattr(skquant, "select_n_colors"):
            raise UsageError(
                "--min-psnr/--max-delta-e need skquant.select_n_colors, which "
                "this version of skquant does not have"
            )


def _settings(args):
    _check_supported(args)
    settings = Settings(
        n_colors=args.colors,
        color_space=args.color_space,
        dither=args.dither,
        backend=args.backend,
        sample_size=args.sample_size,
        seed=args.seed,
        min_psnr=args.min_psnr,
        max_delta_e=args.max_delta_e,
    )
    target = args.min_psnr is not None or args.max_delta_e is not None
    if args.palette is not None:
        for given, option in (
            (args.colors, "-k"),
            (args.keep_colors, "--keep-colors"),
            (target or None, "--min-psnr/--max-delta-e"),
        ):
            if given is not None:
                raise UsageError(f"--palette fixes the colours; drop {option}")
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


def _check_plan(args, sources, index):
    if args.output is None and args.animate is None and args.save_palette is None:
        if not args.stats:
            raise UsageError(
                "nothing to write: give -o/--output, --animate or "
                "--save-palette (or --stats to only report)"
            )
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


def _preload(sources, positions, images=None):
    """Read the inputs at ``positions`` now, before any output is written.

    Returns ``{position: image}`` (taken from ``images`` when given); for an
    input that cannot be read, the error message instead of the image.
    """
    loaded = {}
    for i in sorted(positions):
        if images is not None:
            loaded[i] = images[i]
            continue
        try:
            loaded[i] = read_source(sources[i])
        except Exception as exc:
            loaded[i] = _error_message(exc, sources[i])
    return loaded


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
    tasks = [
        Task(
            index=i,
            source=source,
            settings=settings,
            output=outputs[i],
            palette_output=palette_outputs[i],
            image=loaded.get(i),
            overwrite=args.overwrite,
            stats=args.stats,
        )
        for i, source in enumerate(sources)
    ]
    results = _run_tasks(tasks, args.jobs, reporter, args.stats)
    if args.stats:
        _report_totals(results, reporter)
    return all(r.error is None for r in results)


def _run_shared(args, settings, sources, outputs, reporter, index):
    """One palette fitted on all images (``--shared-palette``, ``--animate``)."""
    from skquant.io import write_animated_gif, write_palette

    images, failed = [], False
    for source in sources:
        try:
            images.append(read_source(source))
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
    loaded = _preload(sources, endangered, images=images)

    tasks = [
        Task(
            index=i,
            source=source,
            settings=settings,
            output=outputs[i],
            image=loaded.get(i),
            overwrite=args.overwrite,
            stats=args.stats,
            quantizer=quantizer,
            conform_to=(n_channels, dtype),
            want_labels=args.animate is not None,
        )
        for i, source in enumerate(sources)
    ]
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
        error, 130 when interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or argparse's usage error
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    reporter = None
    try:
        sources, errors = expand_inputs(args.inputs, recursive=args.recursive)
        index = InputIndex(sources)
        _check_plan(args, sources, index)
        settings = _settings(args)
        outputs, folders = plan_outputs(args.output, sources)
        reporter = _Reporter(len(sources), quiet=args.quiet)
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
        return EXIT_OK if ok and not errors else EXIT_FAILED
    except UsageError as exc:
        print(printable(f"skquant: error: {exc}", sys.stderr), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("skquant: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: still one line, not a traceback
        text = f"skquant: error: unexpected {type(exc).__name__}: {exc} "
        text += "(please report this at the skquant issue tracker)"
        print(printable(text, sys.stderr), file=sys.stderr)
        return EXIT_FAILED
    finally:
        if reporter is not None:
            reporter.close()


if __name__ == "__main__":
    sys.exit(main())
