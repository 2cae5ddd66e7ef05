"IDX, MNIST and CIFAR-10 readers on tiny files in the canonical formats, and on the real files where the data folder has them."
import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from tinytorch.core.dataloader import (DataError, data_dir, load_cifar10, load_mnist, read_cifar_batch, read_idx,
                                       write_idx)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip(tmp_path, dtype, gz):
    a = (np.random.default_rng(0).standard_normal((3, 4, 2)) * 100).astype(dtype)
    path = write_idx(tmp_path / ("a.idx.gz" if gz else "a.idx"), a)
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.shape == (3, 4, 2) and out.flags.writeable
    np.testing.assert_array_equal(out, a)


def test_idx_trailing_bytes_and_truncated_header(tmp_path):
    (tmp_path / "extra").write_bytes(b"\x00\x00\x08\x01" + struct.pack(">I", 2) + b"\x01\x02\x03")
    with pytest.raises(DataError, match="extra"):
        read_idx(tmp_path / "extra")
    (tmp_path / "hdr").write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(DataError, match="hdr"):
        read_idx(tmp_path / "hdr")


def test_load_mnist_from_the_data_folder(mnist_root, monkeypatch):
    root, arrays = mnist_root
    monkeypatch.setenv("TINYTORCH_DATA", str(root))
    assert data_dir() == root
    for split, prefix in [("train", "train"), ("test", "t10k")]:
        x, y = load_mnist(split)
        np.testing.assert_array_equal(x, arrays[prefix][0])
        np.testing.assert_array_equal(y, arrays[prefix][1])
        assert y.dtype == np.int64
    with pytest.raises(ValueError):
        load_mnist("validation")


def test_mnist_errors_name_file_and_fix(mnist_root):
    root, _ = mnist_root
    images = root / "mnist" / "t10k-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:100])  # a cut-off download
    with pytest.raises(DataError) as err:
        load_mnist("test", root=root)
    assert "t10k-images-idx3-ubyte.gz" in str(err.value) and "tito data fetch mnist" in str(err.value)
    write_idx(images, np.zeros((3, 32, 32), np.uint8))  # wrong image size
    with pytest.raises(DataError, match="28, 28"):
        load_mnist("test", root=root)
    with pytest.raises(DataError, match="tito data fetch mnist"):
        load_mnist("train", root=root / "nowhere")


def test_load_cifar10_both_key_styles(cifar_root):
    root, batches = cifar_root
    x, y = load_cifar10("train", root=root)
    assert x.shape == (15, 3, 32, 32) and x.dtype == np.uint8 and y.dtype == np.int64
    want = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)]).reshape(-1, 3, 32, 32)
    np.testing.assert_array_equal(x, want)
    np.testing.assert_array_equal(y, np.concatenate([batches[f"data_batch_{i}"][1] for i in range(1, 6)]))
    xt, yt = load_cifar10("test", root=root)
    np.testing.assert_array_equal(yt, batches["test_batch"][1])
    with pytest.raises(ValueError):
        load_cifar10("valid", root=root)


def test_cifar_errors(cifar_root, tmp_path):
    root, _ = cifar_root
    folder = root / "cifar-10-batches-py"
    raw = (folder / "data_batch_2").read_bytes()
    (folder / "data_batch_2").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError) as err:
        load_cifar10("train", root=root)
    assert "data_batch_2" in str(err.value) and "tito data fetch cifar10" in str(err.value)
    import pickle
    with open(tmp_path / "nokeys", "wb") as f:
        pickle.dump({b"images": np.zeros((1, 3072), np.uint8)}, f)
    with pytest.raises(DataError, match="nokeys"):
        read_cifar_batch(tmp_path / "nokeys")
    with open(tmp_path / "badlabel", "wb") as f:
        pickle.dump({b"data": np.zeros((1, 3072), np.uint8), b"labels": [10]}, f)
    with pytest.raises(DataError):
        read_cifar_batch(tmp_path / "badlabel")


REAL = {"mnist": ("mnist", load_mnist, {"train": 60000, "test": 10000}),
        "cifar10": ("cifar-10-batches-py", load_cifar10, {"train": 50000, "test": 10000})}


@pytest.mark.parametrize("name", REAL)
def test_real_dataset_in_the_data_folder(name):
    "The real files in the data folder (as `tito data fetch` lays them out): shapes, dtypes, label ranges."
    folder, load, sizes = REAL[name]
    if not (data_dir() / folder).is_dir():
        pytest.skip(f"{name} is not in the data folder {data_dir()} (no {folder}/ there): `tito data fetch {name}` "
                    "downloads it, or set TINYTORCH_DATA to a folder that holds it")
    for split, n in sizes.items():
        x, y = load(split)
        assert x.dtype == np.uint8 and x.shape == ((n, 28, 28) if name == "mnist" else (n, 3, 32, 32))
        assert y.shape == (n,) and y.dtype == np.int64
        if name == "mnist":
            assert set(np.unique(y).tolist()) == set(range(10)) and x.max() == 255 and x.min() == 0
        else:
            assert np.bincount(y, minlength=10).tolist() == [n // 10] * 10
