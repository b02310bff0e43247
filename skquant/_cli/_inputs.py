"""Inputs of the ``skquant`` command: files, folders, glob patterns and
bundled sample photos, and reading them as images."""

import dataclasses
import functools
import glob
import os
import re

import numpy as np

from skquant._cli._parser import SAMPLE_PREFIX, STDIO


@dataclasses.dataclass(frozen=True)
class Source:
    """One input image: a file, or a bundled sample photo."""

    label: str
    path: str | None = None
    sample: str | None = None
    stdin: bool = False  # path is then a temporary copy of stdin

    @property
    def stem(self):
        if self.stdin:
            return "stdin"
        name = self.sample if self.sample is not None else os.path.basename(self.path)
        return os.path.splitext(name)[0]

    @property
    def ext(self):
        name = self.sample if self.sample is not None else self.path
        return os.path.splitext(name)[1].lstrip(".")

    @property
    def parent(self):
        if self.stdin:
            return "stdin"
        if self.path is None:
            return "sample"
        return os.path.basename(os.path.dirname(os.path.abspath(self.path)))


@functools.cache
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


def expand_inputs(specs, *, recursive=False, stdin_copy=None):
    """Turn INPUT arguments into sources; return ``(sources, errors)``.

    Folders give their image files (by extension), glob patterns the files
    they match; ``-`` is stdin (``stdin_copy``: the file holding its bytes);
    any other argument is taken as a file, read later. A file named twice is
    processed once.
    """
    sources, errors, seen = [], [], set()

    def add(path, label=None):
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            sources.append(Source(label=label or path, path=path))

    for spec in specs:
        if spec == STDIO and stdin_copy is not None:
            if spec not in seen:
                seen.add(spec)
                sources.append(Source(label="stdin", path=stdin_copy, stdin=True))
        elif spec.startswith(SAMPLE_PREFIX):
            if spec not in seen:
                seen.add(spec)
                sources.append(Source(label=spec, sample=spec[len(SAMPLE_PREFIX) :]))
        elif os.path.isdir(spec):
            files = _folder_images(spec, recursive, _readable_extensions())
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


# =============================================================================
# Bundled sample photos
# =============================================================================


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


# =============================================================================
# Images
# =============================================================================


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
