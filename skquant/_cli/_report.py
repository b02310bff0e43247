"""What the ``skquant`` command prints: one line per image, warnings and
errors as ``skquant: KIND: ...`` lines on stderr, a progress bar on a
terminal, totals."""

import sys

import numpy as np


class _Reporter:
    """Progress bar on stderr (tqdm, when present and useful) and lines."""

    def __init__(self, total, *, quiet, lines_to=None):
        self.quiet = quiet
        self.bar = None
        self.status = 0  # the exit status of files not written on purpose
        self.lines_to = lines_to  # None: stdout (stderr when stdout is an image)
        self.said = set()  # kinds of the notes said once per run
        if quiet or total < 2 or not _isatty(sys.stderr):
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=total, unit="image", file=sys.stderr, leave=False)

    def line(self, text):
        if not self.quiet:
            self._write(text, self.lines_to or sys.stdout)

    def error(self, text, kind="error"):
        self._write(f"skquant: {kind}: {text}", sys.stderr)

    def _write(self, text, stream):
        text = printable(text, stream)
        if self.bar is not None:
            self.bar.write(text, file=stream)
        else:
            print(text, file=stream, flush=True)

    def once(self, note):
        """Say a ``(kind, text)`` note, unless a note of its kind was said
        in this run or the run is quiet."""
        if note is None or note[0] in self.said or self.quiet:
            return
        self.said.add(note[0])
        self._write(f"skquant: note: {note[1]}", sys.stderr)

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
    if stats:  # the metrics' own time apart: it is not the quantizer's
        text += (
            f", PSNR {result.psnr:.2f} dB, dE00 {result.delta_e:.2f}, "
            f"{result.seconds:.3f} s, stats {result.stats_seconds:.3f} s"
        )
    if result.n_bytes is not None:
        text += f", {result.n_bytes} bytes"
    return text


def _report_totals(results, reporter, extra_seconds=0.0):
    done = [r for r in results if r.error is None and r.skipped is None]
    if len(results) < 2 or not done:
        return
    written = sum(r.n_bytes or 0 for r in done)
    reporter.line(
        f"total: {len(done)} of {len(results)} images, "
        f"mean PSNR {np.mean([r.psnr for r in done]):.2f} dB, "
        f"mean dE00 {np.mean([r.delta_e for r in done]):.2f}, "
        f"{sum(r.seconds for r in done) + extra_seconds:.3f} s, "
        f"stats {sum(r.stats_seconds for r in done):.3f} s"
        + (f", {written} bytes written" if written else "")
    )


def _error_message(exc, source):
    if source.stdin:  # name stdin, not its temporary copy
        return _error_message_raw(exc, source).replace(source.path, "stdin")
    return _error_message_raw(exc, source)


def _error_message_raw(exc, source):
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
