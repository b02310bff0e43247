"""Resident-memory probes shared by the tests (Linux ``/proc``)."""

import sys


def reset_peak_rss():
    """Reset VmHWM (Linux >= 4.0); False when the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def status_bytes(field):
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


class PeakRSS:
    """Growth of the resident high-water mark inside a ``with`` block.

    ``enabled`` is False (and ``grown`` 0) where VmHWM cannot be reset.
    """

    def __enter__(self):
        self.enabled = sys.platform == "linux" and reset_peak_rss()
        self.start = status_bytes("VmRSS") if self.enabled else 0
        return self

    def __exit__(self, *exc):
        self.grown = status_bytes("VmHWM") - self.start if self.enabled else 0
