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
#: pngquant's statuses: an output larger than its input was not written
#: (--skip-if-larger), and a result below the --quality minimum was not.
EXIT_LARGER = 98
EXIT_QUALITY = 99

#: Decibels of PSNR per point of --quality (0-100): quality Q asks for
#: 0.4 * Q dB, so 100 is 40 dB, 80 is 32 dB, 0 accepts anything.
DB_PER_QUALITY = 0.4

#: The stdin/stdout name, as in pngquant.
STDIO = "-"


#: Palette file extensions understood by ``--palette``, ``--keep-colors`` and
#: ``--save-palette`` (see :mod:`skquant.io`).
PALETTE_EXTENSIONS = (".gpl", ".json", ".hex", ".txt", ".act")


#: Output formats written as indexed (mode "P") images when K <= 256.
INDEXED_EXTENSIONS = (".png", ".gif")


#: Fields of an output name pattern.
PATTERN_FIELDS = ("stem", "ext", "parent", "index", "k")


#: Every dithering method of the estimator (``skquant._kernels.DITHER_METHODS``,
#: which a test holds this equal to), named here so that building the parser
#: (and ``--help``) does not import the kernels and numba.
DITHER_METHODS = (
    "floyd-steinberg",
    "atkinson",
    "jarvis-judice-ninke",
    "stucki",
    "burkes",
    "sierra",
    "sierra-two-row",
    "sierra-lite",
    "bayer",
)


def _dither_choices():
    """'none' and every dithering method of the estimator."""
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
  (none)         each input INPUT.EXT becomes INPUT-or8.png next to it
                 (INPUT-fs8.png with --dither; --ext sets the suffix, and
                 --ext .png --force replaces a PNG input); stdin goes to
                 stdout; a sample:NAME goes to the current folder.
  -              stdout (one input only): the PNG bytes and nothing else.
  FILE           one input only; the extension picks the format.
  FOLDER/        each input becomes FOLDER/STEM.png (folder created if
                 missing); also used for an existing folder, or for a name
                 without extension when there are several inputs.
  PATTERN        a name with fields {stem} (input name without extension),
                 {ext} (its extension, without dot), {parent} (its folder's
                 name), {index} (position among the inputs, from 0) and {k}
                 (colours used), e.g. 'out/{stem}_k{k}.png'.
  PNG and GIF are written as indexed images with a colour table when K <= 256
  (transparency kept), 16-bit inputs included (8-bit palette entries; with
  --keep-16bit a PNG stays 16-bit RGB(A)); above 256 colours a PNG is
  truecolour (a warning says so); other formats are written as RGB(A).
  Existing files, and outputs that would replace an input, are refused
  unless --force is given.
  Files are written atomically: a failed run leaves no partial file.
  Unless --strip, the input's ICC profile, PNG text chunks and dpi are
  copied to PNG, JPEG, TIFF and WebP outputs (16-bit PNG: the profile only).

colour profiles (ICC):
  An output shows its input's colours. Inputs without a profile, or with an
  sRGB one, are sRGB. For another RGB profile (Adobe RGB, Display P3, ...):
  with --color-space rgb the file's own values are clustered and the profile
  is kept; in lab, oklab and din99o, and with given colours (--palette,
  --remap, --keep-colors: sRGB), the pixels are converted to sRGB with
  Pillow's ImageCms (relative colorimetric: colours outside sRGB are
  clipped), clustered or matched there, and the palette converted back into
  the profile's space, which is kept. Without the profile (--strip, GIF,
  BMP, or a shared palette) the converted sRGB colours are written. Profiles
  of gray, CMYK or Lab data are dropped. A note on stderr says once per run
  what was done.

exit status:
  0    every input was quantized and written
  1    some inputs failed; each one is reported as 'skquant: error: ...'
       and the others are still written (with --shared-palette or --animate,
       nothing is written when an input fails)
  2    usage error: unknown option, bad option value, unreadable --palette or
       --keep-colors file, outputs that collide
  98   --skip-if-larger: some results were larger than their input and were
       not written (as pngquant)
  99   --quality MIN-MAX: some results stayed below MIN and were not written
       (as pngquant)
  130  interrupted (Ctrl-C)

examples:
  skquant photo.png                       (writes photo-or8.png, 16 colours)
  skquant --quality 65-80 --skip-if-larger --ext .png --force photo.png
  cat photo.png | skquant - -k 32 -o - > small.png
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

    def parse_known_args(self, args=None, namespace=None):
        # pngquant's --floyd takes its value only as --floyd=STRENGTH: alone,
        # it must not swallow the next argument (an input file).
        args = list(sys.argv[1:] if args is None else args)
        end = args.index("--") if "--" in args else len(args)
        args[:end] = ["--floyd=1" if a == "--floyd" else a for a in args[:end]]
        parsed, extras = super().parse_known_args(args, namespace)
        _resolve_floyd(parsed)
        return parsed, extras


def _resolve_floyd(args):
    """pngquant's meaning of ``--floyd[=S]``/``--nofs`` (the last one wins):
    strength 0 is no dithering; a strength with no ``--dither`` METHOD is
    Floyd-Steinberg's."""
    if getattr(args, "floyd", None) is None:
        return
    if args.floyd == 0:
        args.dither = "none"
    elif args.dither == "none":
        args.dither = "floyd-steinberg"


def _strength(text):
    """A dither strength in [0, 1] (pngquant's ``--floyd=0.5``)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(
            f"expected a strength from 0 to 1 (as --floyd=0.5), got {_shown(text)}"
        )
    return value


def _quality(text):
    """pngquant's ``--quality MIN-MAX`` (or ``MAX``): two numbers in 0-100."""
    low, sep, high = text.strip().partition("-")
    parse = _integer(0, "a quality in 0-100", 100)
    try:
        low, high = (
            (parse(low or "0"), parse(high or "100")) if sep else (0, parse(low))
        )
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected MIN-MAX or MAX with numbers in 0-100, got {_shown(text)}"
        ) from None
    if low > high:
        raise argparse.ArgumentTypeError(f"MIN must not exceed MAX, got {low}-{high}")
    return low, high


_posterize_bits = _integer(0, "a number of bits in 0-7", 7)
_speed = _integer(1, "a speed from 1 (slowest, best) to 11 (fastest)", 11)


def build_parser():
    """The ``argparse`` parser of the ``skquant`` command.

    The options come in groups, the common ones (those of pngquant) first.
    """
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
        help="image file, folder, glob pattern, sample:NAME, or - for stdin",
    )
    common = parser.add_argument_group("common options")
    common.add_argument(
        "-k",
        "--colors",
        type=_positive_int,
        default=None,
        metavar="K",
        help="number of palette colours (default: 16; the largest K tried "
        "with --quality/--min-psnr/--max-delta-e, default 256 there)",
    )
    common.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="output file, folder, name pattern, or - for stdout (see "
        "'outputs' below; default: next to the input, see --ext)",
    )
    common.add_argument(
        "--ext",
        metavar="SUFFIX",
        help="without -o, write INPUT's stem + SUFFIX next to it (default: "
        "-or8.png, or -fs8.png with --dither, as pngquant)",
    )
    common.add_argument(
        "-f",
        "--force",
        "--overwrite",
        dest="overwrite",
        action="store_true",
        help="replace existing files, inputs included",
    )
    common.add_argument(
        "--quality",
        type=_quality,
        metavar="MIN-MAX",
        help="the fewest colours (up to -k, default 256) that reach quality "
        "MAX; write nothing and exit with status 99 below MIN. Quality Q "
        f"is a PSNR of {DB_PER_QUALITY:g} * Q dB (100: 40 dB, 80: 32 dB)",
    )
    common.add_argument(
        "--speed",
        type=_speed,
        default=4,
        metavar="N",
        help="as pngquant: 1 (slowest, best) to 11 (fastest), default 4; "
        "sets the k-means restarts, iterations and histogram cells of the fit "
        "(see the user guide's table)",
    )
    common.add_argument(
        "--skip-if-larger",
        action="store_true",
        help="do not write a result larger than its input file (exit status 98)",
    )
    dither_choices = _dither_choices()
    common.add_argument(
        "--dither",
        choices=dither_choices,
        default="none",
        metavar="METHOD",
        help="dithering when mapping pixels onto the palette: "
        f"{', '.join(dither_choices)} (default: none); error diffusion is "
        "adaptive, calm on flat areas",
    )
    common.add_argument(
        "--floyd",
        type=_strength,
        default=None,
        metavar="STRENGTH",
        help="dither with strength 0-1 (as pngquant: --floyd alone is 1, "
        "--floyd=0.5 half): Floyd-Steinberg, or the --dither METHOD",
    )
    common.add_argument(
        "--plain-dither",
        action="store_true",
        help="error diffusion at full strength everywhere, without calming flat "
        "areas (skquant 0.5's default; the estimator's dither_adaptive=False)",
    )
    common.add_argument(
        "--nofs",
        dest="floyd",
        action="store_const",
        const=0.0,
        help="no dithering (pngquant's --nofs, same as --floyd=0)",
    )
    common.add_argument(
        "--ordered",
        dest="dither",
        action="store_const",
        const="bayer",
        help="ordered dithering (pngquant's --ordered, same as --dither bayer)",
    )
    common.add_argument(
        "--strip",
        action="store_true",
        help="drop metadata; by default the ICC profile, PNG text chunks and "
        "dpi of the input are copied to the output (with --strip, inputs "
        "with a non-sRGB profile are converted to sRGB: see 'colour "
        "profiles' below)",
    )
    common.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print errors only: no progress bar, no line per image",
    )
    common.add_argument(
        "-V", "--version", action="version", version=f"%(prog)s {__version__}"
    )

    est = parser.add_argument_group("palette")
    est.add_argument(
        "--color-space",
        choices=COLOR_SPACES,
        default="rgb",
        help="space in which colours are clustered and matched: rgb (best "
        "PSNR), din99o (best CIEDE2000), perceptual (between the two: "
        "lower CIEDE2000 and higher PSNR than libimagequant), "
        "lab, oklab (default: rgb)",
    )
    est.add_argument(
        "--posterize",
        type=_posterize_bits,
        metavar="BITS",
        help="as pngquant: drop the BITS lowest bits of each palette channel "
        "(4 for RGBA4444 screens, 2 for RGB565); pixels are then mapped onto "
        "the posterized palette",
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
        "--remap",
        metavar="IMAGE",
        help="map onto the colours of IMAGE (as ImageMagick's -remap) when it "
        "holds at most 256, else onto K colours (-k, default 256) learned "
        "from IMAGE",
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

    out = parser.add_argument_group("more outputs")
    out.add_argument(
        "--keep-16bit",
        action="store_true",
        help="write 16-bit inputs as 16-bit truecolour PNGs (default: an "
        "indexed PNG with 8-bit palette entries when K <= 256, much smaller)",
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

    run = parser.add_argument_group("run")
    run.add_argument(
        "-r",
        "--recursive",
        action="store_true",
        help="read image files in subfolders of folder inputs too",
    )
    run.add_argument(
        "-j",
        "--jobs",
        type=_non_negative_int,
        default=1,
        metavar="N",
        help="images processed at once, by threads of this process: the "
        "compiled kernels, decoders and encoders run in parallel (0: one "
        "per CPU; default: 1)",
    )
    run.add_argument(
        "--stats",
        action="store_true",
        help="report K used, PSNR, mean CIEDE2000 and time for every image",
    )
    return parser


class UsageError(Exception):
    """A problem with the command line itself (exit status 2)."""
