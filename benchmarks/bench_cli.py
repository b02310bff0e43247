"""The command line: output checks on many files, peak memory, start-up time.

Five parts, each printed as a small table:

``checks``
    2,000 small PNGs (16 x 16, real photo crops) in one folder; the seconds
    that the command spends before any image is read: expanding the inputs,
    indexing them, planning the outputs (``-o out/`` and ``-o
    '{stem}_k{k}.png'`` next to the inputs), finding inputs that outputs
    would replace, and checking every output. Issue 12 measured 65 s
    (121 s with ``--shared-palette``) for the old all-pairs check.
``memory``
    Peak resident memory (``VmHWM``) of a fresh process, as a multiple of the
    decoded image: ``read_image`` alone, and the whole command writing an
    indexed PNG (``skquant big.png -k 16 -o out.png``), on a photo upscaled
    to ``--megapixels`` (default 99) and on a zero-filled 11000 x 11000 PNG.
``startup``
    Wall and CPU time of ``skquant photo.png -k 16 -o out.png`` on a 0.4 MP
    photo (``china.jpg``, 640 x 427), median of 5 warm runs (one run first
    to fill numba's cache and Python's bytecode cache, kept in a temporary
    folder even under ``PYTHONDONTWRITEBYTECODE``), the load average, and
    whether scikit-learn or SciPy were imported;
    ``--compare DIR`` interleaves the runs with another source tree's
    ``python -m skquant`` (run from DIR), for a ratio under the same load.
``jobs``
    ``skquant FOLDER -k 32 -o out/`` on 24 photos (the four sample photos,
    each in six crops and scales from 0.1 to 0.5 MP, as PNG), serially and
    with ``--jobs 2``, interleaved, ``--repeats`` times (default 5): median
    wall seconds of each, their ratio, the median time until the first
    image is reported (the progress starting to move), the CPU seconds, and
    the seconds the command's threads were ready to run but waited for a CPU
    that other processes held (Linux, summed over threads): on this 2-core
    machine shared with other work, that wait, not the GIL, is what keeps
    ``--jobs 2`` from halving the time after the start-up. The load average
    (``os.getloadavg``) is printed before and after.
``speed``
    ``--speed 1`` to ``11``: the estimator parameters each sets, the seconds
    of the fit (the command line's, summed over five photos: the four sample
    photos and a 1600 x 1200 photo; median of ``--repeats``, interleaved)
    relative to ``--speed 4``, and the mean PSNR at K=32.

Run::

    .venv/bin/python benchmarks/bench_cli.py checks
    .venv/bin/python benchmarks/bench_cli.py memory --megapixels 99
    .venv/bin/python benchmarks/bench_cli.py startup
    .venv/bin/python benchmarks/bench_cli.py jobs --repeats 5
    .venv/bin/python benchmarks/bench_cli.py speed --repeats 5
    .venv/bin/python benchmarks/bench_cli.py            # all five

Linux only for ``memory`` (``/proc/self/status``).
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


# %% checks ---------------------------------------------------------------------


def _tiny_pngs(folder, n):
    from sklearn.datasets import load_sample_image

    from skquant.io import write_image

    china = load_sample_image("china.jpg")
    for i in range(n):
        y, x = divmod(i * 16, china.shape[1] - 16)
        y = (y * 16) % (china.shape[0] - 16)
        write_image(
            os.path.join(folder, f"img{i:04d}.png"), china[y : y + 16, x : x + 16]
        )


def _time_checks(folder, output):
    from skquant import _cli

    start = time.perf_counter()
    sources, errors = _cli.expand_inputs([folder])
    index = _cli.InputIndex(sources)
    outputs, folders = _cli.plan_outputs(output, sources)
    _cli.endangered_inputs(index, sources, [outputs])
    for source, path in zip(sources, outputs, strict=True):
        path = path.replace("{k}", "16")
        if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            continue  # the folder is created later: nothing there to check
        _cli.check_output_path(path, source, overwrite=False, index=index)
    return len(sources), time.perf_counter() - start


def bench_checks(n_files=2000, repeats=5):
    with tempfile.TemporaryDirectory() as root:
        folder = os.path.join(root, "in")
        os.mkdir(folder)
        _tiny_pngs(folder, n_files)
        print(f"\n## output checks, {n_files} small PNGs (median of {repeats})\n")
        print("| -o | inputs | seconds |\n|---|---|---|")
        for output in (
            os.path.join(root, "out") + "/",
            f"{folder}/{{stem}}_k{{k}}.png",
        ):
            runs = [_time_checks(folder, output) for _ in range(repeats)]
            label = output.replace(root, "ROOT")
            seconds = statistics.median(r[1] for r in runs)
            print(f"| `{label}` | {runs[0][0]} | {seconds:.3f} |")


# %% memory ---------------------------------------------------------------------

_MEASURE = r"""
import os, sys, time
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
what, path, out = sys.argv[1:4]
import ctypes
# Blocks above 1 MiB always from mmap, returned on free: freed memory kept by
# glibc would hide a later peak from the high-water mark.
ctypes.CDLL("libc.so.6").mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD
import numpy as np, PIL.Image
from skquant import io as skio
from skquant import _cli
# Warm up on a tiny image: imports and compiled kernels are not the image's.
tiny = out + ".warm.png"
skio.write_image(tiny, np.arange(48, dtype=np.uint8).reshape(4, 4, 3))
assert _cli.main([tiny, "-k", "4", "-o", tiny, "-q", "--overwrite"]) == 0
os.unlink(tiny)
ctypes.CDLL("libc.so.6").malloc_trim(0)
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
base = hwm()
start = time.perf_counter()
if what == "read":
    image = skio.read_image(path)
    nbytes = image.nbytes
else:
    status = _cli.main([path, "-k", "16", "-o", out, "--overwrite", "-q"])
    assert status == 0, status
    with PIL.Image.open(path) as im:
        nbytes = im.size[0] * im.size[1] * len(im.getbands())
print(nbytes, hwm() - base, time.perf_counter() - start)
"""


def _peak(what, path, out):
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, what, path, out],
        capture_output=True,
        text=True,
        check=True,
    )
    nbytes, peak, seconds = proc.stdout.split()
    return int(nbytes), int(peak), float(seconds)


def bench_memory(megapixels=99):
    import cv2
    from sklearn.datasets import load_sample_image

    from skquant.io import write_image

    with tempfile.TemporaryDirectory() as root:
        china = load_sample_image("china.jpg")
        height = int(round((megapixels * 1e6 * 427 / 640) ** 0.5))
        width = int(round(megapixels * 1e6 / height))
        photo = os.path.join(root, "photo.png")
        write_image(
            photo, cv2.resize(china, (width, height), interpolation=cv2.INTER_CUBIC)
        )
        zeros = os.path.join(root, "zeros.png")
        write_image(zeros, np.zeros((11000, 11000, 3), np.uint8))
        print("\n## peak memory above the start of the call, x the decoded image\n")
        print("| image | file MB | step | image MB | peak MB | ratio | seconds |")
        print("|---|---|---|---|---|---|---|")
        for name, path in (
            (f"photo {width}x{height}", photo),
            ("zeros 11000x11000", zeros),
        ):
            size = os.path.getsize(path) / 1e6
            for what in ("read", "cli"):
                nbytes, peak, seconds = _peak(what, path, os.path.join(root, "out.png"))
                step = "read_image" if what == "read" else "skquant -k 16 -o out.png"
                print(
                    f"| {name} | {size:.1f} | {step} | {nbytes / 1e6:.0f} | "
                    f"{peak / 1e6:.0f} | {peak / nbytes:.2f} | {seconds:.1f} |"
                )


# %% startup --------------------------------------------------------------------


def _bytecode_env(root):
    """The environment of the timed processes: with ``PYTHONDONTWRITEBYTECODE``
    set (as in some shells), every run would compile skquant's sources
    again (0.1 s of CPU); an installed package has its bytecode. Bytecode
    goes to ``root`` (``PYTHONPYCACHEPREFIX``), not into the trees."""
    env = dict(os.environ, PYTHONPYCACHEPREFIX=os.path.join(root, "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _timed(command, cwd=None, env=None):
    """Wall and CPU (user + system) seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=cwd, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


_RUN_AND_LIST = """
import runpy, sys
sys.argv = ["skquant", *sys.argv[1:]]
try:
    runpy.run_module("skquant", run_name="__main__")
except SystemExit as exc:
    if exc.code:
        raise
print(" ".join(sys.modules), file=sys.stderr)
"""


def bench_startup(repeats=5, compare=None):
    """``compare``: a source tree of another skquant version (e.g. an older
    commit's ``git archive``), run as ``python -m skquant`` from that folder
    and interleaved with this one, so both see the same machine load."""
    from sklearn.datasets import load_sample_image

    from skquant.io import write_image

    with tempfile.TemporaryDirectory() as root:
        photo = os.path.join(root, "photo.png")
        write_image(photo, load_sample_image("china.jpg"))
        out = os.path.join(root, "out.png")
        args = [photo, "-k", "16", "-o", out, "--overwrite"]
        versions = {"this": (None, [sys.executable, "-m", "skquant", *args])}
        if compare:
            versions["compare"] = (compare, [sys.executable, "-m", "skquant", *args])
        env = _bytecode_env(root)
        for cwd, command in versions.values():  # warm: kernels and bytecode
            subprocess.run(command, check=True, capture_output=True, cwd=cwd, env=env)
        runs = {name: [] for name in versions}
        for _ in range(repeats):
            for name, (cwd, command) in versions.items():
                runs[name].append(_timed(command, cwd, env))
        # what the command leaves in sys.modules (-X importtime would also
        # list the imports numba attempts and skquant refuses it)
        listed = subprocess.run(
            [sys.executable, "-c", _RUN_AND_LIST, *args],
            capture_output=True,
            text=True,
            check=True,
        ).stderr.splitlines()[-1]
        modules = set(listed.split())
        heavy = sorted({m.split(".")[0] for m in modules} & {"sklearn", "scipy"})
    print(f"\n## warm start: skquant photo.png -k 16 -o out.png, {repeats} runs\n")
    load = " ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"load average {load} on {os.cpu_count()} CPUs\n")
    print("| version | median wall s | min wall s | median CPU s |\n|---|---|---|---|")
    for name, timings in runs.items():
        walls = [w for w, _ in timings]
        cpus = [c for _, c in timings]
        print(
            f"| {name} | {statistics.median(walls):.3f} | {min(walls):.3f} | "
            f"{statistics.median(cpus):.3f} |"
        )
    print(
        f"\nimported by this version: {', '.join(heavy) or 'neither'} of sklearn/scipy"
    )


# %% jobs -----------------------------------------------------------------------


def _photo_folder(folder):
    """24 PNGs: each sample photo in six crops and scales (0.1 to 0.5 MP)."""
    import cv2
    from _common import sample_photos

    from skquant.io import write_image

    for name, photo in sample_photos().items():
        height, width = photo.shape[:2]
        for i, (crop, scale) in enumerate(
            [(1.0, 1.0), (0.8, 1.0), (1.0, 0.75), (0.9, 0.9), (0.7, 1.25), (1.0, 0.6)]
        ):
            part = photo[: int(height * crop), : int(width * crop)]
            size = (int(part.shape[1] * scale), int(part.shape[0] * scale))
            part = cv2.resize(part, size, interpolation=cv2.INTER_AREA)
            write_image(os.path.join(folder, f"{name}_{i}.png"), part)


def _waits(pid, seen):
    """Record in ``seen`` the seconds each thread of ``pid`` has waited so far
    to run (ready, but its CPU taken: ``/proc/PID/task/TID/schedstat``,
    Linux; nothing elsewhere)."""
    folder = f"/proc/{pid}/task"
    try:
        tids = os.listdir(folder)
    except OSError:
        return
    for tid in tids:
        try:
            with open(f"{folder}/{tid}/schedstat") as fp:
                seen[tid] = int(fp.read().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            pass


def _timed_batch(command, env=None):
    """Wall seconds of a batch, seconds until its first line of output, CPU
    seconds (user + system), and the seconds its threads waited for a CPU
    (summed over threads, read at each line of output: the last image's
    lines on)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    first = None
    waits = {}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as proc:
        for _ in proc.stdout:
            if first is None:
                first = time.perf_counter() - start
            _waits(proc.pid, waits)
        status = proc.wait()
    if status != 0:
        raise RuntimeError(f"{' '.join(command)} exited with status {status}")
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, first, cpu, sum(waits.values())


def bench_jobs(repeats=5, n_jobs=2):
    with tempfile.TemporaryDirectory() as root:
        folder = os.path.join(root, "photos")
        os.mkdir(folder)
        _photo_folder(folder)
        n = len(os.listdir(folder))
        out = os.path.join(root, "out") + "/"
        base = [sys.executable, "-m", "skquant", folder, "-k", "32", "-o", out]
        commands = {
            "serial": [*base, "--force"],
            f"--jobs {n_jobs}": [*base, "--force", "--jobs", str(n_jobs)],
        }
        env = _bytecode_env(root)
        subprocess.run(commands["serial"], check=True, capture_output=True, env=env)
        load_before = os.getloadavg()
        runs = {name: [] for name in commands}
        for _ in range(repeats):
            for name, command in commands.items():
                runs[name].append(_timed_batch(command, env))
        load_after = os.getloadavg()
    print(f"\n## skquant FOLDER -k 32 -o out/, {n} photos, {repeats} runs each\n")
    print(
        "| run | median wall s | min wall s | median s to first image | "
        "median CPU s | median s waiting for a CPU |"
    )
    print("|---|---|---|---|---|---|")
    medians = {}
    for name, timings in runs.items():
        walls = [t[0] for t in timings]
        medians[name] = statistics.median(walls)
        first, cpu, waits = (
            statistics.median(t[i] for t in timings) for i in (1, 2, 3)
        )
        print(
            f"| {name} | {medians[name]:.2f} | {min(walls):.2f} | {first:.2f} | "
            f"{cpu:.2f} | {waits:.2f} |"
        )
    serial, parallel = medians.values()
    print(f"\nratio --jobs {n_jobs} / serial: {parallel / serial:.2f}")
    print(
        "load average (1, 5, 15 min) before: "
        + ", ".join(f"{v:.2f}" for v in load_before)
        + "; after: "
        + ", ".join(f"{v:.2f}" for v in load_after)
    )


# %% speed ----------------------------------------------------------------------


def bench_speed(repeats=5, k=32):
    import cv2
    from _common import photo_12mp, sample_photos

    from skquant._cli._planning import SPEED_PARAMS, Settings
    from skquant.metrics import peak_signal_noise_ratio

    photos = list(sample_photos().values())
    photos.append(cv2.resize(photo_12mp(), (1600, 1200), interpolation=cv2.INTER_AREA))
    settings = {n: Settings(n_colors=k, speed=n) for n in SPEED_PARAMS}
    for photo in photos:  # compile and warm up
        settings[4].fit(photo, photo.dtype, 3)
    seconds = {n: [] for n in settings}
    psnr = {}
    for _ in range(repeats):
        for n, setting in settings.items():
            total, values = 0.0, []
            for photo in photos:
                start = time.perf_counter()
                quantizer, _ = setting.fit(photo, photo.dtype, 3)
                total += time.perf_counter() - start
                values.append(
                    peak_signal_noise_ratio(photo, quantizer.transform(photo))
                )
            seconds[n].append(total)
            psnr[n] = float(np.mean(values))
    base = statistics.median(seconds[4])
    print(f"\n## --speed: fit on 5 photos, K={k}, median of {repeats}\n")
    print("| --speed | parameters | fit s | x speed 4 | mean PSNR dB |")
    print("|---|---|---|---|---|")
    for n, params in SPEED_PARAMS.items():
        text = ", ".join(f"{key}={value}" for key, value in params.items())
        median = statistics.median(seconds[n])
        print(
            f"| {n} | {text or 'defaults'} | {median:.3f} | {median / base:.2f} | "
            f"{psnr[n]:.2f} |"
        )
    print(
        "load average (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg())
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "parts",
        nargs="*",
        default=["checks", "memory", "startup", "jobs", "speed"],
    )
    parser.add_argument("--repeats", type=int, default=5, help="jobs, startup: runs")
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--megapixels", type=float, default=99)
    parser.add_argument("--compare", metavar="DIR", help="startup: another tree")
    args = parser.parse_args()
    for part in args.parts:
        if part == "checks":
            bench_checks(args.files)
        elif part == "memory":
            bench_memory(args.megapixels)
        elif part == "startup":
            bench_startup(args.repeats, compare=args.compare)
        elif part == "jobs":
            bench_jobs(args.repeats)
        elif part == "speed":
            bench_speed(args.repeats)
        else:
            parser.error(f"unknown part {part!r}")


if __name__ == "__main__":
    main()
