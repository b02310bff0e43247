"""The ``skquant`` command's options: the argparse parser, its help text,
the value checks of its options, and the words shared by the other modules
(exit statuses, file extensions, pattern fields)."""

import argparse
import sys

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


def _shown(text, limit=40):
    """An option value as quoted in a message, shortened if long."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def _integer(minimum, expected, maximum=None):
    """An argparse type: integers in [minimum, maximum], ``expected`` in errors."""

    def parse(text):
        # int() refuses more than 4300 digits with its own message.
        text = text.strip()
        if not text.lstrip("+-").isdigit() or len(text) > 30:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {_shown(text)}")
        value = int(text)
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value

    return parse


_positive_int = _integer(1, "a positive integer")
_non_negative_int = _integer(0, "an integer >= 0")
_seed = _integer(0, f"an integer in [0, {2**32 - 1}]", 2**32 - 1)


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number, got {_shown(text)}"
        ) from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(
            f"expected a positive finite number, got {_shown(text)}"
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
            f"expected 'auto', 'all' or a positive integer, got {_shown(text)}"
        ) from None


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one ``skquant: error:`` line."""

    def error(self, message):
        from skquant._cli._report import printable

        text = f"{self.prog}: error: {message} (see {self.prog} -h)\n"
        self.exit(EXIT_USAGE, printable(text, sys.stderr))


def build_parser():
    """The ``argparse`` parser of the ``skquant`` command."""
    from skquant import __version__

    parser = _Parser(
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
        type=_seed,
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
