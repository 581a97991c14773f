"""Tests of helpers.data: finding, verifying and loading MNIST; the validation split; scaling."""

import re

import numpy as np
import pytest

from helpers import data
from helpers.config import PROJECT_ROOT
from helpers.data import (
    KNOWN_SHA256,
    DataError,
    load_mnist,
    relative_to_project,
    scale_images,
    split_train_val,
)

MNIST_FILE = PROJECT_ROOT / "data" / "mnist.npz"

# Files written by these tests are not MNIST, so load_mnist warns about their sha256 first.
not_mnist = pytest.mark.filterwarnings("ignore:.*is not the known MNIST file")

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@pytest.fixture(scope="module")
def labels(mnist):
    return mnist.y_train


# --- load_mnist on the real file -------------------------------------------------------------


def test_real_file_shapes_dtypes_and_checksum(mnist):
    assert mnist.x_train.shape == (60000, 28, 28)
    assert mnist.y_train.shape == (60000,)
    assert mnist.x_test.shape == (10000, 28, 28)
    assert mnist.y_test.shape == (10000,)
    assert {a.dtype for a in (mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test)} == {
        np.dtype("uint8")
    }
    assert mnist.sha256 == KNOWN_SHA256 == "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"
    assert mnist.source == "data/mnist.npz"  # relative: no machine path in records or reports


def test_real_file_known_labels(mnist):
    assert mnist.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert mnist.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(mnist.y_train).tolist() == TRAIN_COUNTS
    assert int(mnist.x_train.max()) == 255


def test_default_location_is_data_mnist_npz():
    found = data.find_mnist()
    assert found == MNIST_FILE


# --- where the file comes from -----------------------------------------------------------------


def test_explicit_path_wins_and_warns_about_checksum(fake_npz):
    with pytest.warns(UserWarning, match=r"fake\.npz: sha256 .* is not the known MNIST file"):
        loaded = load_mnist(fake_npz)
    assert loaded.source == relative_to_project(fake_npz)
    assert loaded.sha256 != KNOWN_SHA256
    assert int(loaded.x_train.max()) == 0


def test_env_var_beats_default_location(fake_npz, monkeypatch):
    monkeypatch.setenv("MNIST_NPZ", str(fake_npz))
    with pytest.warns(UserWarning, match="sha256"):
        loaded = load_mnist()
    assert loaded.source == relative_to_project(fake_npz)


def test_explicit_path_beats_env_var(fake_npz, monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_NPZ", str(tmp_path / "nowhere.npz"))
    assert data.find_mnist(fake_npz) == fake_npz


def test_missing_explicit_path_raises_naming_it(tmp_path):
    missing = tmp_path / "nope.npz"
    with pytest.raises(DataError, match="given by path argument does not exist: " + re.escape(str(missing))):
        load_mnist(missing)


def test_missing_env_path_raises_naming_it(tmp_path, monkeypatch):
    missing = tmp_path / "env.npz"
    monkeypatch.setenv("MNIST_NPZ", str(missing))
    with pytest.raises(DataError, match="given by MNIST_NPZ does not exist: " + re.escape(str(missing))):
        load_mnist()


def test_nothing_found_and_download_fails_says_where_it_looked(tmp_path, monkeypatch):
    import keras.datasets.mnist

    def offline():
        raise OSError("network is unreachable")

    monkeypatch.setattr(data, "DEFAULT_NPZ", tmp_path / "data" / "mnist.npz")
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DataError) as info:
        load_mnist()
    message = str(info.value)
    assert "MNIST_NPZ" in message
    assert "data/mnist.npz" in message
    assert str(tmp_path / "data" / "mnist.npz") in message
    assert "network is unreachable" in message


def test_keras_download_is_the_last_resort(tmp_path, monkeypatch, fake_arrays):
    import keras.datasets.mnist

    def download():
        a = fake_arrays
        return (a["x_train"], a["y_train"]), (a["x_test"], a["y_test"])

    monkeypatch.setattr(data, "DEFAULT_NPZ", tmp_path / "mnist.npz")
    monkeypatch.setattr(keras.datasets.mnist, "load_data", download)
    loaded = load_mnist()
    assert (loaded.source, loaded.sha256) == ("keras.datasets.mnist", None)
    assert loaded.y_test[:3].tolist() == [0, 1, 2]


# --- broken files ---------------------------------------------------------------------------------


@not_mnist
def test_truncated_file_raises_naming_it(tmp_path):
    path = tmp_path / "cut.npz"
    path.write_bytes(MNIST_FILE.read_bytes()[:4096])
    with pytest.raises(DataError, match=re.escape(str(path)) + r": cannot read as \.npz"):
        load_mnist(path)


@not_mnist
def test_random_bytes_raise_naming_the_file(tmp_path):
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(0).bytes(1000))
    with pytest.raises(DataError, match=re.escape(str(path)) + r": cannot read as \.npz"):
        load_mnist(path)


@not_mnist
def test_missing_keys_raise_naming_them(tmp_path, fake_arrays):
    path = tmp_path / "partial.npz"
    np.savez(path, x_train=fake_arrays["x_train"][:1], y_train=fake_arrays["y_train"][:1])
    with pytest.raises(DataError, match=re.escape(str(path)) + r": missing arrays \['x_test', 'y_test'\]"):
        load_mnist(path)


@not_mnist
def test_wrong_shape_raises_naming_the_file(tmp_path, fake_arrays):
    path = tmp_path / "small.npz"
    np.savez(path, **{k: v[:100] for k, v in fake_arrays.items()})
    with pytest.raises(
        DataError,
        match=re.escape(str(path)) + r": x_train has shape \(100, 28, 28\), expected \(60000, 28, 28\)",
    ):
        load_mnist(path)


@not_mnist
def test_wrong_dtype_raises_naming_the_file(tmp_path, fake_arrays):
    path = tmp_path / "int64.npz"
    np.savez_compressed(path, **{**fake_arrays, "y_train": fake_arrays["y_train"].astype(np.int64)})
    with pytest.raises(DataError, match=re.escape(str(path)) + r": y_train has dtype int64, expected uint8"):
        load_mnist(path)


@not_mnist
def test_labels_outside_0_9_raise_naming_the_file(tmp_path, fake_arrays):
    path = tmp_path / "labels.npz"
    y_test = fake_arrays["y_test"].copy()
    y_test[5] = 10
    np.savez_compressed(path, **{**fake_arrays, "y_test": y_test})
    with pytest.raises(DataError, match=re.escape(str(path)) + r": y_test holds labels outside 0-9"):
        load_mnist(path)


def test_verify_false_skips_checks_and_warning(tmp_path, fake_arrays, recwarn):
    path = tmp_path / "small.npz"
    np.savez(path, **{k: v[:100] for k, v in fake_arrays.items()})
    loaded = load_mnist(path, verify=False)
    assert loaded.x_train.shape == (100, 28, 28)
    assert len(recwarn) == 0


# --- split_train_val -------------------------------------------------------------------------------


def _ids(images):
    """Recover the row ids that `_id_images` stored, through scale_images' /255."""
    return np.rint(images.reshape(len(images)) * 255).astype(np.int64)


def _id_images(n):
    return np.arange(n, dtype=np.float64).reshape(n, 1, 1)


def test_split_sizes_for_default_fraction(labels):
    split = split_train_val(_id_images(60000), labels, val_fraction=0.1)
    assert split.sizes() == {"train": 54000, "validation": 6000}
    assert split.x_train.shape == (54000, 1, 1, 1)


def test_split_is_stratified(labels):
    split = split_train_val(_id_images(60000), labels, val_fraction=0.1)
    overall = np.bincount(labels, minlength=10) / len(labels)
    for part in (split.y_train, split.y_val):
        assert np.abs(np.bincount(part, minlength=10) / len(part) - overall).max() < 0.001


def test_split_has_no_overlap_and_keeps_labels_with_images(labels):
    split = split_train_val(_id_images(60000), labels, val_fraction=0.1)
    train_ids, val_ids = _ids(split.x_train), _ids(split.x_val)
    assert len(np.intersect1d(train_ids, val_ids)) == 0
    assert len(np.union1d(train_ids, val_ids)) == 60000
    assert np.array_equal(labels[train_ids], split.y_train)
    assert np.array_equal(labels[val_ids], split.y_val)


def test_split_is_fixed_by_seed(labels):
    a = split_train_val(_id_images(60000), labels, seed=1)
    b = split_train_val(_id_images(60000), labels, seed=1)
    c = split_train_val(_id_images(60000), labels, seed=2)
    assert np.array_equal(_ids(a.x_val), _ids(b.x_val))
    assert not np.array_equal(np.sort(_ids(a.x_val)), np.sort(_ids(c.x_val)))


def test_train_subset_keeps_validation_full_size(labels):
    split = split_train_val(_id_images(60000), labels, val_fraction=0.1, train_subset=3000)
    assert split.sizes() == {"train": 3000, "validation": 6000}
    full = split_train_val(_id_images(60000), labels, val_fraction=0.1)
    assert np.array_equal(_ids(split.x_val), _ids(full.x_val))
    assert np.isin(_ids(split.x_train), _ids(full.x_train)).all()
    assert np.bincount(split.y_train).min() >= 270


def test_train_subset_larger_than_training_split_is_rejected(labels):
    with pytest.raises(ValueError, match=r"train_subset must be at most 54000 .*got 54001"):
        split_train_val(_id_images(60000), labels, val_fraction=0.1, train_subset=54001)


def test_split_labels_are_int64(labels):
    split = split_train_val(_id_images(60000), labels)
    assert split.y_train.dtype == np.int64 and split.y_val.dtype == np.int64


# --- scale_images --------------------------------------------------------------------------------


def test_scale_images_gives_float32_nhwc_in_unit_range(mnist):
    scaled = scale_images(mnist.x_test[:5])
    assert scaled.shape == (5, 28, 28, 1)
    assert scaled.dtype == np.float32
    assert float(scaled.min()) == 0.0 and float(scaled.max()) == 1.0
    assert scaled[0, 7, 7, 0] == pytest.approx(mnist.x_test[0, 7, 7] / 255)


def test_scale_images_accepts_a_single_image(mnist):
    assert scale_images(mnist.x_test[0]).shape == (1, 28, 28, 1)
