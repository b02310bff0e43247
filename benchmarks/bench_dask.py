"""Quantize an on-disk zarr image several times larger than a memory limit.

A photo mosaic is written to a zarr array several times larger than the
memory limit set for the process that quantizes it. That process fits a
palette on a 1,000,000-pixel sample (``skquant._dask.fit``) and maps every
pixel lazily, zarr to zarr (``skquant._dask.transform`` + ``to_zarr``). A
watchdog thread polls its resident memory every 10 ms and aborts the run
above the limit; the reported peak is the kernel's own high-water mark
(``ru_maxrss``), checked against the limit at the end.

For reference, a smaller array that fits is quantized with the same palette
both ways: in memory (load, ``ColorQuantizer.transform``, save) and with
Dask; both outputs must be identical. Every measurement runs in a fresh
process, so peaks do not mix.

Run::

    .venv/bin/python benchmarks/bench_dask.py --quick   # 2 GiB, 512 MiB limit
    .venv/bin/python benchmarks/bench_dask.py           # 4.2 GiB, 768 MiB limit

Needs ``dask[array]`` and ``zarr``. The data go to a temporary folder (or
``--dir``), removed at the end unless ``--keep``.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

CHUNK = 2048
TILE = 400  # the smallest photo, coffee, is 400 x 600
GIB = 2**30
MIB = 2**20

#: What the benchmark writes in its folder.
OUTPUTS = [
    "big.zarr",
    "small.zarr",
    "big-dask-out.zarr",
    "small-dask-out.zarr",
    "small-memory-out.zarr",
    "palette.npy",
]

#: glibc keeps freed blocks of a few MiB in its arenas unless told to trim;
#: dask.distributed sets the same for its workers
#: (``distributed.nanny.pre-spawn-environ``). Applied to every phase alike.
CHILD_ENV = dict(os.environ)
CHILD_ENV.setdefault("MALLOC_TRIM_THRESHOLD_", "65536")

SETTINGS = {
    # chunks per side of the big and the small square images, memory limit
    "quick": {"big": 13, "small": 4, "limit": 512 * MIB},
    "full": {"big": 19, "small": 6, "limit": 768 * MIB},
}


# %% helpers shared by the phases ------------------------------------------------


def rss_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def start_watchdog(limit):
    """Abort the process as soon as its resident memory exceeds ``limit``."""

    def watch():
        while True:
            if rss_bytes() > limit:
                print(
                    json.dumps(
                        {"error": f"RSS above the limit of {limit / MIB:.0f} MiB"}
                    ),
                    flush=True,
                )
                os._exit(3)
            time.sleep(0.01)

    threading.Thread(target=watch, daemon=True).start()


def photo_tiles():
    """Four real photos cropped to TILE x TILE, with flipped variants."""
    import numpy as np
    from skimage import data
    from sklearn.datasets import load_sample_image

    photos = [
        load_sample_image("china.jpg"),
        load_sample_image("flower.jpg"),
        data.astronaut(),
        data.coffee(),
    ]
    tiles = [p[:TILE, :TILE] for p in photos]
    tiles += [t[::-1] for t in tiles] + [t[:, ::-1] for t in tiles]
    return np.stack(tiles)


def brightness_tables():
    """Nine uint8 lookup tables scaling values by 0.6 to 1.0."""
    import numpy as np

    values = np.arange(256)
    gains = 0.6 + 0.05 * np.arange(9)
    return np.clip(np.rint(values * gains[:, None]), 0, 255).astype(np.uint8)


def mosaic_block(block_info=None, *, tiles, tables):
    """One chunk of an endless mosaic of photo tiles with varying brightness."""
    import numpy as np

    (y0, y1), (x0, x1), _ = block_info[None]["array-location"]
    out = np.empty((y1 - y0, x1 - x0, 3), dtype=np.uint8)
    for ty in range(y0 // TILE, (y1 - 1) // TILE + 1):
        for tx in range(x0 // TILE, (x1 - 1) // TILE + 1):
            ys = slice(max(y0, ty * TILE), min(y1, (ty + 1) * TILE))
            xs = slice(max(x0, tx * TILE), min(x1, (tx + 1) * TILE))
            tile = tiles[(ty * 7 + tx * 13) % len(tiles)][
                ys.start - ty * TILE : ys.stop - ty * TILE,
                xs.start - tx * TILE : xs.stop - tx * TILE,
            ]
            table = tables[(ty * 5 + tx * 3) % len(tables)]
            out[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0] = table[
                tile
            ]
    return out


# %% phases (each in its own process) ---------------------------------------------


def phase_make(args):
    import dask.array as da
    import numpy as np

    tiles, tables = photo_tiles(), brightness_tables()
    for name, n_chunks in (("big", args.big), ("small", args.small)):
        side = n_chunks * CHUNK
        mosaic = da.map_blocks(
            mosaic_block,
            tiles=tiles,
            tables=tables,
            chunks=((CHUNK,) * n_chunks, (CHUNK,) * n_chunks, (3,)),
            dtype=np.uint8,
            meta=np.empty((0, 0, 0), np.uint8),
        )
        assert mosaic.shape == (side, side, 3)
        mosaic.to_zarr(os.path.join(args.dir, f"{name}.zarr"), mode="w")
    return {}


def phase_dask(args):
    """Fit on a sample and quantize zarr -> zarr, under the memory limit."""
    import dask
    import dask.array as da
    import numpy as np

    from skquant import ColorQuantizer, _dask

    dask.config.set(scheduler="threads")
    baseline = rss_bytes()
    if args.limit:
        start_watchdog(args.limit)
    image = da.from_zarr(os.path.join(args.dir, f"{args.array}.zarr"))
    palette_path = os.path.join(args.dir, "palette.npy")
    start = time.perf_counter()
    if args.array == "big":
        quantizer = _dask.fit(ColorQuantizer(16, random_state=0), image)
        np.save(palette_path, quantizer.palette_)
    else:
        quantizer = _dask.fit(ColorQuantizer(palette=np.load(palette_path)), image)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    out = os.path.join(args.dir, f"{args.array}-dask-out.zarr")
    _dask.transform(quantizer, image).to_zarr(out, mode="w")
    return {
        "pixels": image.shape[0] * image.shape[1],
        "nbytes": image.nbytes,
        "fit_seconds": fit_seconds,
        "seconds": time.perf_counter() - start,
        "baseline": baseline,
        "peak": peak_rss_bytes(),
    }


def phase_memory(args):
    """Load, transform in memory, save; then compare with the Dask outputs."""
    import dask.array as da
    import numpy as np
    import zarr

    from skquant import ColorQuantizer, _dask

    baseline = rss_bytes()
    palette = np.load(os.path.join(args.dir, "palette.npy"))
    source = zarr.open_array(os.path.join(args.dir, "small.zarr"), mode="r")
    start = time.perf_counter()
    image = source[...]
    load_seconds = time.perf_counter() - start
    quantizer = ColorQuantizer(palette=palette).fit(image[:1, :1])
    start = time.perf_counter()
    result = quantizer.transform(image)
    transform_seconds = time.perf_counter() - start
    start = time.perf_counter()
    target = zarr.create_array(
        os.path.join(args.dir, "small-memory-out.zarr"),
        shape=result.shape,
        chunks=source.chunks,
        dtype=result.dtype,
        overwrite=True,
    )
    target[...] = result
    save_seconds = time.perf_counter() - start
    peak = peak_rss_bytes()
    dask_out = zarr.open_array(os.path.join(args.dir, "small-dask-out.zarr"), mode="r")
    identical = bool(np.array_equal(dask_out[...], result))
    # The same mapping through Dask on the array already in memory: no I/O.
    lazy = da.from_array(image, chunks=(CHUNK, CHUNK, 3))
    start = time.perf_counter()
    in_ram = _dask.transform(quantizer, lazy).compute(scheduler="threads")
    dask_in_ram_seconds = time.perf_counter() - start
    identical &= bool(np.array_equal(in_ram, result))
    return {
        "pixels": image.shape[0] * image.shape[1],
        "nbytes": image.nbytes,
        "load_seconds": load_seconds,
        "seconds": transform_seconds,
        "save_seconds": save_seconds,
        "baseline": baseline,
        "peak": peak,
        "identical_to_dask": identical,
        "dask_in_ram_seconds": dask_in_ram_seconds,
    }


PHASES = {"make": phase_make, "dask": phase_dask, "memory": phase_memory}


def run_phase(name, args, **extra):
    command = [sys.executable, os.path.abspath(__file__), "--phase", name]
    command += ["--dir", args.dir, "--big", str(args.big), "--small", str(args.small)]
    for key, value in extra.items():
        command += [f"--{key}", str(value)]
    completed = subprocess.run(command, capture_output=True, text=True, env=CHILD_ENV)
    lines = completed.stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines else {}
    if completed.returncode or "error" in result:
        sys.exit(
            f"phase {name} failed ({result.get('error', completed.returncode)}):\n"
            + completed.stderr[-3000:]
        )
    return result


# %% report -----------------------------------------------------------------------


def report(settings, big, small_dask, small_memory):
    def row(what, path, r, seconds, note=""):
        mpx = r["pixels"] / 1e6
        print(
            f"{what:<7}{r['nbytes'] / GIB:>7.2f} GiB {mpx:>7.0f} MP  {path:<10}"
            f"{r['peak'] / MIB:>8.0f} MiB {r['baseline'] / MIB:>8.0f} MiB"
            f"{seconds:>8.1f} s {mpx / seconds:>7.1f}  {note}"
        )

    limit = settings["limit"]
    print(
        f"memory limit of the Dask process on the big array: {limit / MIB:.0f} MiB "
        f"(array {big['nbytes'] / limit:.1f} x the limit); "
        f"chunks {CHUNK} x {CHUNK} x 3, {os.cpu_count()} cores, threaded scheduler, "
        f"MALLOC_TRIM_THRESHOLD_={CHILD_ENV['MALLOC_TRIM_THRESHOLD_']}"
    )
    print(
        f"{'array':<7}{'size':>11} {'pixels':>10}  {'path':<10}"
        f"{'peak RSS':>12} {'imports':>12}{'time':>10} {'MP/s':>7}"
    )
    row("big", "dask", big, big["seconds"], "zarr -> zarr")
    row("big", "dask fit", big, big["fit_seconds"], "1e6-pixel sample")
    row("small", "dask", small_dask, small_dask["seconds"], "zarr -> zarr")
    m = small_memory
    row("small", "in-memory", m, m["seconds"], "transform only")
    row("small", "dask", m, m["dask_in_ram_seconds"], "same, from RAM (peak n/a)")
    end_to_end = m["load_seconds"] + m["seconds"] + m["save_seconds"]
    row("small", "in-memory", m, end_to_end, "zarr -> zarr (load+transform+save)")
    print(f"small array: Dask outputs identical to in-memory: {m['identical_to_dask']}")
    print(
        f"big array: peak RSS {big['peak'] / MIB:.0f} MiB <= limit "
        f"{limit / MIB:.0f} MiB: {big['peak'] <= limit}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 GiB instead of 4.2")
    parser.add_argument("--dir", help="folder for the zarr arrays (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the zarr arrays")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--array", default="big", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--big", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--small", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.phase:
        print(json.dumps(PHASES[args.phase](args)), flush=True)
        return

    settings = SETTINGS["quick" if args.quick else "full"]
    args.big, args.small = settings["big"], settings["small"]
    created = args.dir is None
    args.dir = args.dir or tempfile.mkdtemp(prefix="skquant-bench-dask-")
    os.makedirs(args.dir, exist_ok=True)
    try:
        start = time.perf_counter()
        run_phase("make", args)
        print(f"wrote the zarr arrays in {time.perf_counter() - start:.0f} s")
        big = run_phase("dask", args, array="big", limit=settings["limit"])
        small_dask = run_phase("dask", args, array="small")
        small_memory = run_phase("memory", args)
        report(settings, big, small_dask, small_memory)
    finally:
        if not args.keep:
            _clean(args.dir, created)


def _clean(folder, created):
    if created:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for name in OUTPUTS:
        path = os.path.join(folder, name)
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.exists(path):
            os.remove(path)


if __name__ == "__main__":
    main()
