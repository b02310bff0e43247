"""Dask arrays in skquant: lazy block-wise mapping, sampled fit, collections.

Every mapping is compared exactly with the in-memory result on real photos
chunked in awkward ways; one LocalCluster (two worker processes) checks the
distributed scheduler and that the estimator reaches each worker once.
"""

import os
from collections import Counter

import numpy as np
import pytest
from skimage.util import img_as_float32
from sklearn.exceptions import NotFittedError

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

from skquant import ColorQuantizer, _dask, _files, _image  # noqa: E402
from skquant.io import read_image, write_image  # noqa: E402


class RecordingArray:
    """An array-like that records every slice Dask reads from it."""

    def __init__(self, array):
        self.array = array
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim
        self.reads = []

    def __getitem__(self, key):
        self.reads.append(key)
        return self.array[key]


def recording(array, chunks):
    source = RecordingArray(array)
    lazy = da.from_array(source, chunks=chunks, asarray=True)
    source.reads.clear()
    return source, lazy


@pytest.fixture(scope="module")
def rgb_quantizer(astronaut):
    return ColorQuantizer(16, random_state=0).fit(astronaut)


@pytest.fixture(scope="module")
def lab_quantizer(china):
    return ColorQuantizer(12, color_space="lab", random_state=0).fit(china)


def awkward_inputs(astronaut, china, flower):
    """(name, ndarray, chunks): uneven, channel-split, batch, pixel layouts."""
    batch = np.stack([china, flower])
    return [
        ("uneven", astronaut, ((100, 300, 112), (250, 262), (3,))),
        ("split-channels", astronaut, ((512,), (200, 312), (1, 2))),
        ("one-pixel-rows", china[:9], ((1,) * 9, (640,), (3,))),
        ("batch", batch, ((1, 1), (200, 227), (333, 307), (2, 1))),
        ("pixels", astronaut.reshape(-1, 3), ((100_000, 100_000, 62_144), (3,))),
    ]


# %% exact equality with the in-memory path -----------------------------------


@pytest.mark.parametrize("space", ["rgb", "lab"])
@pytest.mark.parametrize("case", range(5))
def test_mapping_equals_in_memory(
    space, case, rgb_quantizer, lab_quantizer, astronaut, china, flower
):
    q = rgb_quantizer if space == "rgb" else lab_quantizer
    _, image, chunks = awkward_inputs(astronaut, china, flower)[case]
    lazy = da.from_array(image, chunks=chunks)

    labels = _dask.predict(q, lazy)
    assert isinstance(labels, da.Array)
    assert labels.shape == image.shape[:-1]
    assert labels.chunks == lazy.chunks[:-1]
    expected_labels = q.predict(image)
    assert labels.dtype == expected_labels.dtype
    np.testing.assert_array_equal(labels.compute(), expected_labels)

    out = _dask.transform(q, lazy)
    assert (out.shape, out.chunks, out.dtype) == (lazy.shape, lazy.chunks, lazy.dtype)
    np.testing.assert_array_equal(out.compute(), q.transform(image))

    colours = _dask.inverse_transform(q, labels)
    assert colours.shape == image.shape and colours.dtype == q.palette_.dtype
    assert colours.chunks == labels.chunks + ((3,),)
    np.testing.assert_array_equal(
        colours.compute(), q.inverse_transform(expected_labels)
    )


def test_float32_image_keeps_dtype(astronaut):
    image = img_as_float32(astronaut)
    q = ColorQuantizer(8, color_space="oklab", random_state=0).fit(image)
    lazy = da.from_array(image, chunks=(128, 200, 2))
    out = _dask.transform(q, lazy)
    assert out.dtype == np.float32 and out.chunks == lazy.chunks
    np.testing.assert_array_equal(out.compute(), q.transform(image))


@pytest.mark.parametrize("dither", ["floyd-steinberg", "bayer"])
def test_dithering_equals_in_memory(dither, china, flower):
    q = ColorQuantizer(8, dither=dither, random_state=0).fit(china)
    batch = np.stack([china, flower])
    lazy = da.from_array(batch, chunks=(1, (100, 327), (333, 307), (1, 2)))
    labels, out = _dask.predict(q, lazy), _dask.transform(q, lazy)
    assert labels.chunks == lazy.chunks[:-1] and out.chunks == lazy.chunks
    np.testing.assert_array_equal(labels.compute(), q.predict(batch))
    np.testing.assert_array_equal(out.compute(), q.transform(batch))
    # Pixel arrays are not dithered, in memory or block by block.
    pixels = china.reshape(-1, 3)
    lazy_pixels = da.from_array(pixels, chunks=(50_000, 3))
    np.testing.assert_array_equal(
        _dask.predict(q, lazy_pixels).compute(), q.predict(pixels)
    )


def test_alpha_images_fit_and_map_as_in_memory(astronaut):
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    rgba[:100, :100, 3] = 0  # a transparent corner
    rgba[100:200, :100, 3] = 128
    lazy = da.from_array(rgba, chunks=(200, 300, 4))
    q = _dask.fit(ColorQuantizer(8, random_state=0), lazy)  # sample = all pixels
    expected = ColorQuantizer(8, random_state=0).fit(rgba)
    np.testing.assert_array_equal(q.palette_, expected.palette_)
    np.testing.assert_array_equal(_dask.transform(q, lazy).compute(), q.transform(rgba))


def test_fitted_on_dataframe_warns_once_like_in_memory(astronaut):
    pd = pytest.importorskip("pandas")
    pixels = astronaut.reshape(-1, 3)
    frame = pd.DataFrame(pixels[:5000], columns=["r", "g", "b"])
    q = ColorQuantizer(4, random_state=0).fit(frame)
    lazy = da.from_array(pixels, chunks=(30_000, 3))
    with pytest.warns(UserWarning, match="valid feature names") as record:
        labels = _dask.predict(q, lazy).compute(scheduler="sync")
    assert len(record) == 1  # not once per block
    with pytest.warns(UserWarning, match="valid feature names"):
        np.testing.assert_array_equal(labels, q.predict(pixels))


def test_score_matches_in_memory(rgb_quantizer, china):
    lazy = da.from_array(china, chunks=(100, 256, 3))
    assert _dask.score(rgb_quantizer, lazy) == pytest.approx(
        rgb_quantizer.score(china), rel=1e-12
    )


# %% laziness and validation without computing --------------------------------


def test_nothing_is_computed_before_compute(rgb_quantizer, astronaut):
    source, lazy = recording(astronaut, chunks=(128, 256, 3))
    labels = _dask.predict(rgb_quantizer, lazy)
    out = _dask.transform(rgb_quantizer, lazy)
    colours = _dask.inverse_transform(rgb_quantizer, labels)
    assert source.reads == []
    np.testing.assert_array_equal(colours.compute(), out.compute())
    # each compute read the 8 blocks once, block by block, never the whole image
    assert len(source.reads) == 16
    assert all(
        (key[0].stop - key[0].start, key[1].stop - key[1].start) == (128, 256)
        for key in source.reads
    )


def same_error(call_memory, call_dask, error):
    with pytest.raises(error) as in_memory:
        call_memory()
    with pytest.raises(error) as lazy:
        call_dask()
    assert str(lazy.value) == str(in_memory.value)


@pytest.mark.parametrize("method", ["predict", "transform"])
@pytest.mark.parametrize(
    "make_bad",
    [
        pytest.param(lambda im: im / 255.0, id="float-vs-uint8"),
        pytest.param(lambda im: im.astype(np.uint16), id="uint16-vs-uint8"),
        pytest.param(lambda im: np.dstack([im, im[..., :1]]), id="4-channels"),
        pytest.param(lambda im: im[..., :1], id="1-channel"),
        pytest.param(lambda im: im.reshape(-1, 3)[:, :2], id="pixels-2-channels"),
        pytest.param(lambda im: im > 100, id="bool"),
        pytest.param(lambda im: im[:0], id="empty"),
        pytest.param(lambda im: im[None, None], id="5-dims"),
    ],
)
def test_bad_input_raises_as_in_memory_without_reading(
    method, make_bad, rgb_quantizer, astronaut
):
    bad = make_bad(astronaut)
    source, lazy = recording(bad, chunks=(64,) * bad.ndim)
    same_error(
        lambda: getattr(rgb_quantizer, method)(bad),
        lambda: getattr(_dask, method)(rgb_quantizer, lazy),
        (ValueError, TypeError),
    )
    assert source.reads == []


def test_unfitted_raises_as_in_memory(astronaut):
    lazy = da.from_array(astronaut)
    for method in ("predict", "transform"):
        with pytest.raises(NotFittedError):
            getattr(_dask, method)(ColorQuantizer(), lazy)
    with pytest.raises(NotFittedError):
        _dask.inverse_transform(ColorQuantizer(), da.zeros(4, dtype=int))


def test_labels_checked_as_in_memory(rgb_quantizer):
    same_error(
        lambda: rgb_quantizer.inverse_transform(np.array([True])),
        lambda: _dask.inverse_transform(rgb_quantizer, da.ones(3, dtype=bool)),
        ValueError,
    )
    # The range needs the values: checked when computing, same message.
    bad = np.array([[0, 3], [16, 2]])
    same_error(
        lambda: rgb_quantizer.inverse_transform(bad),
        lambda: _dask.inverse_transform(rgb_quantizer, da.from_array(bad)).compute(),
        ValueError,
    )


def test_non_array_collections_refused(rgb_quantizer, astronaut):
    assert not _image.is_dask_collection(astronaut)
    assert not _image.is_dask_collection([astronaut])
    assert _image.is_dask_collection(da.from_array(astronaut))
    delayed_image = dask.delayed(astronaut)
    assert _image.is_dask_collection(delayed_image)
    with pytest.raises(TypeError, match="Dask arrays only"):
        _dask.transform(rgb_quantizer, delayed_image)


# %% fitting on a sample --------------------------------------------------------


def test_sample_is_uniform_block_proportional_and_reproducible():
    # Pixel values are their own index, so the sample says where it came from.
    index = np.arange(30_000)
    pixels = np.repeat(index[:, None], 3, axis=1)
    chunks = ((7_000, 1, 12_999, 10_000), (3,))
    lazy = da.from_array(pixels, chunks=chunks)
    sample, weights = _dask.sample_pixels(lazy, 3_001, random_state=0)
    assert sample.shape == (3_001, 3) and weights is None
    drawn = sample[:, 0]
    assert len(np.unique(drawn)) == 3_001  # without replacement
    per_block = np.histogram(drawn, bins=np.cumsum((0,) + chunks[0]))[0]
    share = 3_001 * np.array(chunks[0]) / 30_000
    assert np.all((per_block == np.floor(share)) | (per_block == np.ceil(share)))
    again, _ = _dask.sample_pixels(lazy, 3_001, random_state=0)
    np.testing.assert_array_equal(sample, again)
    other, _ = _dask.sample_pixels(lazy, 3_001, random_state=1)
    assert not np.array_equal(sample, other)
    everything, _ = _dask.sample_pixels(lazy, 10**9, random_state=0)
    np.testing.assert_array_equal(everything, pixels)
    # Weights, given in memory or lazily and chunked otherwise, follow their pixel.
    for given in (index * 0.5, da.from_array(index * 0.5, chunks=4_096)):
        sample, weights = _dask.sample_pixels(
            lazy, 500, sample_weight=given, random_state=2
        )
        np.testing.assert_array_equal(weights, sample[:, 0] * 0.5)


def test_fit_with_sample_weight_and_partial_fit(astronaut):
    lazy = da.from_array(astronaut, chunks=(200, 200, 3))
    weights = np.zeros(astronaut.shape[:2])
    weights[:, :256] = 1.0  # only the left half counts
    q = ColorQuantizer(8, sample_size=50_000, random_state=0)
    _dask.fit(q, lazy, sample_weight=weights)
    left = _dask.fit(
        ColorQuantizer(8, sample_size=25_000, random_state=0),
        da.from_array(astronaut[:, :256], chunks=(200, 200, 3)),
    )
    assert q.score(astronaut[:, :256]) > 1.25 * left.score(astronaut[:, :256])
    with pytest.raises(ValueError, match="one weight per pixel"):
        _dask.fit(q, lazy, sample_weight=weights[:10])

    q = ColorQuantizer(8, random_state=0)
    for half in (astronaut[:256], astronaut[256:]):
        _dask.partial_fit(q, da.from_array(half, chunks=(100, 512, 3)))
    assert q.n_colors_ == 8 and q.palette_.dtype == np.uint8


def test_given_palette_reads_one_block(astronaut):
    palette = np.array([[0, 0, 0], [255, 255, 255], [200, 30, 30]], np.uint8)
    source, lazy = recording(astronaut, chunks=(64, 64, 3))
    q = _dask.fit(ColorQuantizer(palette=palette), lazy)
    assert len(source.reads) == 1
    np.testing.assert_array_equal(q.palette_, palette)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_reads_blocks_only_and_is_deterministic(seed, china):
    source, lazy = recording(china, chunks=(100, 160, 3))
    q1 = ColorQuantizer(8, sample_size=20_000, random_state=seed)
    assert _dask.fit(q1, lazy) is q1
    assert all(
        key[0].stop - key[0].start <= 100 and key[1].stop - key[1].start <= 160
        for key in source.reads
    )
    assert len(source.reads) <= lazy.npartitions
    q2 = _dask.fit(ColorQuantizer(8, sample_size=20_000, random_state=seed), lazy)
    np.testing.assert_array_equal(q1.palette_, q2.palette_)
    assert q1.n_features_in_ == 3 and q1.palette_.dtype == np.uint8
    # A palette from a 20k sample maps the photo about as well as one from all.
    full = ColorQuantizer(8, random_state=seed).fit(china)
    assert q1.score(china) > 1.25 * full.score(china)


def test_fit_sample_covering_every_pixel_equals_in_memory_fit(astronaut):
    lazy = da.from_array(astronaut, chunks=(100, 300, (2, 1)))
    q = _dask.fit(ColorQuantizer(16, random_state=3), lazy)  # 262,144 < 1e6 pixels
    expected = ColorQuantizer(16, random_state=3).fit(astronaut)
    np.testing.assert_array_equal(q.palette_, expected.palette_)


def test_fit_validates_as_in_memory(astronaut):
    for bad in (astronaut[:0], astronaut > 0, astronaut[None, None]):
        same_error(
            lambda bad=bad: ColorQuantizer(4).fit(bad),
            lambda bad=bad: _dask.fit(ColorQuantizer(4), da.from_array(bad, chunks=64)),
            (ValueError, TypeError),
        )
    with pytest.raises(ValueError, match="sample_size must be >= 1"):
        _dask.fit(ColorQuantizer(4, sample_size=0), da.from_array(astronaut))


# %% distributed: one LocalCluster with two worker processes --------------------


class PickleLoggingQuantizer(ColorQuantizer):
    """Appends 'dump <pid>' / 'load <pid>' to ``pickle_log`` when (un)pickled."""

    def __getstate__(self):
        state = super().__getstate__()
        if state.get("pickle_log"):
            with open(state["pickle_log"], "a") as log:
                log.write(f"dump {os.getpid()}\n")
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if state.get("pickle_log"):
            with open(state["pickle_log"], "a") as log:
                log.write(f"load {os.getpid()}\n")


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def pickle_events(log, client):
    workers = set(client.run(os.getpid).values())
    events = Counter()
    for line in log.read_text().splitlines():
        kind, pid = line.split()
        where = "worker" if int(pid) in workers else "here"
        events[kind, where if where == "here" else int(pid)] += 1
    return events, workers


def test_local_cluster_equals_in_memory_and_ships_estimator_once(
    client, tmp_path, astronaut, china
):
    q = PickleLoggingQuantizer(16, random_state=0).fit(china)
    q.pickle_log = str(tmp_path / "pickles.log")
    lazy = da.from_array(astronaut, chunks=(128, 128, 3))  # 16 blocks
    labels = _dask.predict(q, lazy)
    out = _dask.transform(q, lazy)

    (tmp_path / "pickles.log").write_text("")
    got_labels, got_out = dask.compute(labels, out)  # the client's scheduler
    np.testing.assert_array_equal(got_labels, q.predict(astronaut))
    np.testing.assert_array_equal(got_out, q.transform(astronaut))

    events, workers = pickle_events(tmp_path / "pickles.log", client)
    loads = {pid: events["load", pid] for pid in workers}
    # One copy per worker process, whatever the number of tasks (16 x 2); on a
    # loaded machine the scheduler may have a worker release the estimator and
    # fetch it again for a stolen task, hence at most two...
    assert all(n <= 2 for n in loads.values()) and sum(loads.values()) >= 1, events
    # ...and a handful of pickles in all: graph, task, worker-to-worker transfer.
    dumps = sum(n for (kind, _), n in events.items() if kind == "dump")
    assert dumps <= 2 + len(workers)

    # Control: the same estimator passed as a plain argument goes with every
    # block, which this count does detect.
    (tmp_path / "pickles.log").write_text("")
    naive = lazy.map_blocks(
        _dask._predict_block, q, drop_axis=2, meta=np.empty((0, 0), np.int32)
    )
    np.testing.assert_array_equal(naive.compute(), got_labels)
    events, _ = pickle_events(tmp_path / "pickles.log", client)
    assert sum(events["load", pid] for pid in workers) > 2 * len(workers)


def test_local_cluster_fit_and_files(client, tmp_path, photos):
    lazy = da.from_array(photos[0], chunks=(100, 200, 3))
    q_cluster = _dask.fit(ColorQuantizer(8, sample_size=30_000, random_state=0), lazy)
    with dask.config.set(scheduler="threads"):
        q_local = _dask.fit(ColorQuantizer(8, sample_size=30_000, random_state=0), lazy)
    np.testing.assert_array_equal(q_cluster.palette_, q_local.palette_)

    paths = write_photos(tmp_path, photos)
    q, written = _files.quantize_files(
        paths, tmp_path / "out", n_colors=8, random_state=0, scheduler=client
    )
    check_outputs(q, paths, written)


# %% collections of files ---------------------------------------------------------


def write_photos(folder, photos):
    paths = []
    for i, photo in enumerate(photos):
        paths.append(str(folder / f"photo{i}.png"))
        write_image(paths[-1], photo)
    return paths


def check_outputs(q, paths, written):
    assert [os.path.basename(p) for p in written] == [
        os.path.basename(p) for p in paths
    ]
    for path, out in zip(paths, written, strict=True):
        result = read_image(out)
        np.testing.assert_array_equal(result, q.transform(read_image(path)))
        colours = np.unique(result.reshape(-1, 3), axis=0)
        assert len(colours) <= q.n_colors_


def test_quantize_files_one_palette_for_all(tmp_path, photos, capsys):
    paths = write_photos(tmp_path, photos[2:])
    q, written = _files.quantize_files(
        paths, tmp_path / "out", n_colors=8, sample_per_image=5_000, random_state=0
    )
    assert q.n_colors_ == 8 and q.palette_.dtype == np.uint8
    check_outputs(q, paths, written)
    assert "100%" in capsys.readouterr().out  # two ProgressBar runs
    q_again, _ = _files.quantize_files(
        paths,
        tmp_path / "again",
        n_colors=8,
        sample_per_image=5_000,
        random_state=0,
        scheduler="sync",
        progress=False,
    )
    np.testing.assert_array_equal(q.palette_, q_again.palette_)
    assert capsys.readouterr().out == ""
    with pytest.raises(FileExistsError):
        _files.quantize_files(
            paths[:1], tmp_path / "out", n_colors=4, overwrite=False, progress=False
        )


def test_quantize_files_refuses_clashes(tmp_path, astronaut):
    write_image(tmp_path / "a.png", astronaut)
    write_image(tmp_path / "a.bmp", astronaut)
    write_image(tmp_path / "b.png", astronaut.astype(np.uint16) * 257)
    with pytest.raises(ValueError, match="both be written"):
        _files.quantize_files([tmp_path / "a.png", tmp_path / "a.bmp"], tmp_path / "o")
    with pytest.raises(ValueError, match="replace an input"):
        _files.quantize_files([tmp_path / "a.png"], tmp_path)
    with pytest.raises(ValueError, match="same dtype"):
        _files.quantize_files(
            [tmp_path / "a.png", tmp_path / "b.png"], tmp_path / "o", progress=False
        )


# %% through the estimator's own methods ----------------------------------------


def test_estimator_methods_dispatch_to_dask(china):
    q = ColorQuantizer(16, random_state=0).fit(china)
    lazy = da.from_array(china, chunks=(100, 300, 3))
    out = q.transform(lazy)
    assert isinstance(out, da.Array) and out.chunks == lazy.chunks
    np.testing.assert_array_equal(out.compute(), q.transform(china))
    labels = q.predict(lazy)
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(labels.compute(), q.predict(china))
    back = q.inverse_transform(labels)
    np.testing.assert_array_equal(back.compute(), q.transform(china))
    assert q.score(lazy) == pytest.approx(q.score(china), rel=1e-9)


def test_estimator_fit_on_dask_samples(china):
    lazy = da.from_array(china, chunks=(128, 128, 3))
    q = ColorQuantizer(8, random_state=0).fit(lazy)
    assert q.palette_.shape == (8, 3) and q.n_features_in_ == 3
    out = ColorQuantizer(8, random_state=0).fit_transform(lazy)
    assert isinstance(out, da.Array)
    np.testing.assert_array_equal(out.compute(), q.transform(china))


def test_quantize_on_dask_is_the_in_memory_quantize(china):
    """skquant.quantize sends a Dask array through the estimator: lazy, and
    (pooled block by block) the same palette and pixels as in memory."""
    from skquant import quantize

    image = np.ascontiguousarray(china[::2, ::2])
    out = quantize(da.from_array(image, chunks=(70, 90, 3)), 8, color_space="lab")
    assert isinstance(out, da.Array) and out.dtype == image.dtype
    np.testing.assert_array_equal(out.compute(), quantize(image, 8, color_space="lab"))


# %% fitting pools block by block ----------------------------------------------------


@pytest.mark.parametrize(
    "case", ["rgb", "weighted", "rgba", "lab", "batch", "pixels", "k64"]
)
def test_dask_fit_learns_the_in_memory_palette(china, flower, case):
    image = np.ascontiguousarray(china[::2, ::2])
    params, weights, chunks = {"n_colors": 16, "random_state": 0}, None, (70, 90, 3)
    if case == "weighted":
        weights = np.random.default_rng(0).integers(0, 4, image.shape[:2]).astype(float)
    elif case == "rgba":
        alpha = np.full(image.shape[:2], 255, np.uint8)
        alpha[:30] = 0
        image, chunks = np.dstack([image, alpha]), (70, 90, 4)
    elif case == "lab":
        params["color_space"] = "lab"
    elif case == "batch":
        image = np.stack([image, np.ascontiguousarray(flower[::2, ::2])])
        chunks = (1, 100, 100, 3)
    elif case == "pixels":
        image, chunks = image.reshape(-1, 3), (10_000, 3)
    elif case == "k64":
        params["n_colors"] = 64
    lazy = da.from_array(image, chunks=chunks)
    lazy_weights = (
        None if weights is None else da.from_array(weights, chunks=chunks[:2])
    )
    in_memory = ColorQuantizer(**params).fit(image, sample_weight=weights)
    on_dask = ColorQuantizer(**params).fit(lazy, sample_weight=lazy_weights)
    np.testing.assert_array_equal(on_dask.palette_, in_memory.palette_)
    np.testing.assert_array_equal(on_dask.cluster_centers_, in_memory.cluster_centers_)
    assert on_dask.n_iter_ == in_memory.n_iter_


@pytest.mark.parametrize("case", ["rgb", "weighted", "rgba", "float32", "batch"])
def test_dask_fit_of_a_graphic_clusters_the_in_memory_exact_colours(
    logo, monkeypatch, case
):
    """The logo at K=256 (545 cells: k-means on its 2,139 exact colours):
    each block's histogram carries its colours, merged, so the Dask fit
    learns the in-memory palette, on every pooling path (uint8 RGB, the
    hash table for weights, 4 channels and floats)."""
    from skquant import _histogram

    image, weights, chunks = logo, None, (120, 170, 3)
    if case == "weighted":
        weights = np.random.default_rng(0).integers(0, 4, image.shape[:2]) * 0.5
    elif case == "rgba":
        alpha = np.full(image.shape[:2], 255, np.uint8)
        alpha[:40] = 0
        image, chunks = np.dstack([image, alpha]), (120, 170, 4)
    elif case == "float32":
        image = img_as_float32(image)
    elif case == "batch":
        image, chunks = np.stack([image, image[::-1]]), (1, 200, 300, 3)
    lazy = da.from_array(image, chunks=chunks)
    lazy_weights = (
        None if weights is None else da.from_array(weights, chunks=chunks[:2])
    )
    params = {"n_colors": 256, "random_state": 0}
    in_memory = ColorQuantizer(**params).fit(image, sample_weight=weights)
    on_dask = ColorQuantizer(**params).fit(lazy, sample_weight=lazy_weights)
    np.testing.assert_array_equal(on_dask.palette_, in_memory.palette_)
    np.testing.assert_array_equal(on_dask.cluster_centers_, in_memory.cluster_centers_)
    assert on_dask.n_iter_ == in_memory.n_iter_
    if case == "rgba":
        return  # 23 cells a channel: fewer cells than K, exact colours before too
    with monkeypatch.context() as patch:  # the cells: another palette
        patch.setattr(_histogram, "COLOURS_BYTES", 0)
        cells = ColorQuantizer(**params).fit(lazy, sample_weight=lazy_weights)
    assert not np.array_equal(cells.palette_, on_dask.palette_)


def test_dask_partial_fit_of_a_graphic_is_the_in_memory_stream(logo):
    """Batches of the logo at K=256: both streams carry the same exact
    colours (merged block by block on Dask) and learn the same palettes."""
    in_memory = ColorQuantizer(256, random_state=0)
    on_dask = ColorQuantizer(256, random_state=0)
    for batch in np.array_split(logo, 3):
        in_memory.partial_fit(batch)
        on_dask.partial_fit(da.from_array(batch, chunks=(70, 150, 3)))
        np.testing.assert_array_equal(on_dask.palette_, in_memory.palette_)
    kept, kept_on_dask = in_memory._histogram.colours, on_dask._histogram.colours
    np.testing.assert_array_equal(kept_on_dask.first, kept.first)
    np.testing.assert_array_equal(kept_on_dask.weights, kept.weights)
    assert len(kept.codes) == 2139


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_dask_partial_fit_is_the_in_memory_stream(china, flower, dtype):
    frames = [np.ascontiguousarray(p[::2, ::2]) for p in (china, flower)]
    if dtype == "float32":
        frames = [img_as_float32(f) for f in frames]
    in_memory = ColorQuantizer(12, random_state=0)
    on_dask = ColorQuantizer(12, random_state=0)
    for frame in frames:
        in_memory.partial_fit(frame)
        on_dask.partial_fit(da.from_array(frame, chunks=(60, 80, 3)))
        np.testing.assert_array_equal(on_dask.palette_, in_memory.palette_)
    np.testing.assert_array_equal(
        on_dask._histogram.weights, in_memory._histogram.weights
    )


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_dask_partial_fit_after_fit_continues_the_fit(china, flower, dtype):
    """The Dask stream after a fit starts from the fit's weighted palette,
    as the in-memory one does: the same histogram and palette."""
    first, frame = (np.ascontiguousarray(p[::2, ::2]) for p in (china, flower))
    if dtype == "float32":
        first, frame = img_as_float32(first), img_as_float32(frame)
    in_memory = ColorQuantizer(12, random_state=0).fit(first)
    on_dask = ColorQuantizer(12, random_state=0).fit(first)
    in_memory.partial_fit(frame)
    on_dask.partial_fit(da.from_array(frame, chunks=(60, 80, 3)))
    np.testing.assert_array_equal(on_dask.palette_, in_memory.palette_)
    np.testing.assert_array_equal(
        on_dask._histogram.weights, in_memory._histogram.weights
    )
    assert on_dask._histogram.weights.sum() == 2 * frame[..., 0].size


@pytest.mark.parametrize("weighted", [False, True])
def test_dask_sampled_fit_weights_stand_for_every_pixel(china, weighted):
    """A fit on a sample drawn block by block: its colours' weights (what
    partial_fit continues from) are scaled to all the pixels."""
    n_pixels = china.shape[0] * china.shape[1]
    weights = np.random.default_rng(0).uniform(0.5, 1.5, china.shape[:2])
    q = ColorQuantizer(16, sample_size=20_000, random_state=0)
    lazy = da.from_array(china, chunks=(200, 320, 3))
    _dask.fit(q, lazy, sample_weight=weights if weighted else None)
    total = weights.sum() if weighted else n_pixels
    np.testing.assert_allclose(q._fitted.weights.sum(), total, rtol=0.02)


def test_dask_partial_fit_of_a_clear_batch_after_fit_keeps_the_fit(china):
    """A fully transparent batch after an RGBA fit: the fit's colours stay."""
    rgba = np.dstack([china[::4, ::4], np.full(china[::4, ::4].shape[:2], 255)])
    rgba = rgba.astype(np.uint8)
    clear = np.zeros_like(rgba)
    in_memory = ColorQuantizer(8, random_state=0).fit(rgba).partial_fit(clear)
    on_dask = ColorQuantizer(8, random_state=0).fit(rgba)
    on_dask.partial_fit(da.from_array(clear, chunks=(40, 80, 4)))
    np.testing.assert_array_equal(on_dask.palette_, in_memory.palette_)
    assert in_memory.n_colors_ == 8 and (in_memory.palette_[-1] == 0).all()
    assert in_memory.palette_[:-1, 3].min() == 255


@pytest.mark.parametrize("backend", ["sklearn", "opencv"])
def test_dask_partial_fit_keeps_earlier_batches_as_in_memory(
    coffee, astronaut, backend
):
    """Batches of few histogram cells (each a real photo squeezed into 8
    levels per channel), then one of many: the Dask stream keeps the exact
    colours of the earlier batches as the in-memory one does."""
    frames = [
        np.uint8(200) + coffee[::4, ::4] // 32,
        np.uint8(30) + astronaut[::4, ::4] // 32,
        astronaut[::4, ::4],
    ]
    in_memory = ColorQuantizer(48, random_state=0, backend=backend)
    on_dask = ColorQuantizer(48, random_state=0, backend=backend)
    for i, frame in enumerate(frames):
        in_memory.partial_fit(frame)
        on_dask.partial_fit(da.from_array(frame, chunks=(40, 50, 3)))
        np.testing.assert_array_equal(on_dask.palette_, in_memory.palette_)
        if i == 1:  # the first batch's colours are still there
            assert (on_dask.palette_.min(axis=1) >= 200).any()
    # both carry the same exact colours (a 128 x 128 frame has few)
    kept, kept_on_dask = in_memory._histogram.colours, on_dask._histogram.colours
    np.testing.assert_array_equal(kept_on_dask.first, kept.first)
    np.testing.assert_array_equal(kept_on_dask.weights, kept.weights)


# %% fits for adaptive dithering weigh flat areas as in memory ----------------------


@pytest.mark.parametrize("case", ["image", "weighted", "batch", "float", "split"])
def test_dask_fit_for_adaptive_dithering_weighs_flat_areas_as_in_memory(
    china, flower, case
):
    """At K > 16 with adaptive error diffusion, fit weighs pixels by how flat
    the image is around them: on Dask arrays too, the windows reaching
    across blocks, so that the palette is the in-memory one."""
    image, chunks, weights = china, (100, 150, 3), None
    params = {"n_colors": 32, "random_state": 0}
    if case == "weighted":
        weights = np.random.default_rng(0).uniform(0.5, 2.0, china.shape[:2])
    elif case == "batch":
        image = np.stack([china[:, :320], flower[:, :320]])
        chunks = (1, 100, 100, 3)
    elif case == "float":
        image = img_as_float32(china)
    elif case == "split":  # blocks of 2 x 17 pixels, channels split
        image, chunks = np.ascontiguousarray(china[:40, :200]), (2, 17, (2, 1))
    lazy = da.from_array(image, chunks=chunks)
    lazy_weights = (
        None if weights is None else da.from_array(weights, chunks=chunks[:2])
    )
    dithered = {**params, "dither": "floyd-steinberg"}
    in_memory = ColorQuantizer(**dithered).fit(image, sample_weight=weights)
    on_dask = ColorQuantizer(**dithered).fit(lazy, sample_weight=lazy_weights)
    np.testing.assert_array_equal(on_dask.palette_, in_memory.palette_)
    plain = ColorQuantizer(**params).fit(lazy, sample_weight=lazy_weights)
    assert not np.array_equal(plain.palette_, in_memory.palette_)


def test_dask_sampled_fit_weighs_the_sample_by_the_image_flatness(china):
    """A sampled fit (here ``sample_size``) draws the pixels with their
    flatness measured on the image, not on the one-row image of the sample."""
    from skquant._engine._palette import calm_weights
    from skquant._image import check_input

    lazy = da.from_array(china, chunks=(100, 150, 3))
    params = {"n_colors": 32, "random_state": 0, "sample_size": 20_000}
    q = ColorQuantizer(**params, dither="floyd-steinberg").fit(lazy)
    layout = check_input(q, china, reset=True)
    calm = calm_weights(layout, None, q._settings(layout)).reshape(china.shape[:2])
    pixels, weights = _dask.sample_pixels(
        lazy,
        20_000,
        sample_weight=da.from_array(calm, chunks=(100, 150)),
        random_state=np.random.RandomState(0),
    )
    plain = ColorQuantizer(**params)  # the same fit of the sample, weighted
    expected = plain.fit(pixels[None], sample_weight=weights[None]).palette_
    np.testing.assert_array_equal(q.palette_, expected)
    assert not np.array_equal(expected, plain.fit(pixels[None]).palette_)


def test_dask_partial_fit_for_adaptive_dithering_is_the_in_memory_stream(china, flower):
    params = {"n_colors": 32, "random_state": 0, "dither": "floyd-steinberg"}
    in_memory, on_dask = ColorQuantizer(**params), ColorQuantizer(**params)
    for frame in (china, flower):
        in_memory.partial_fit(frame)
        on_dask.partial_fit(da.from_array(frame, chunks=(100, 150, 3)))
        np.testing.assert_array_equal(on_dask.palette_, in_memory.palette_)
    np.testing.assert_allclose(
        on_dask._histogram.weights, in_memory._histogram.weights, rtol=1e-12
    )
