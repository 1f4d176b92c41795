"""TF-free builders, sources and load_arrays on tiny generated Fashion-MNIST / CIFAR files."""
import gzip
import io
import os
import pickle
import tarfile

import numpy as np
import pytest
import tensorflow_datasets as tfds

from jaxssl import data
from jaxssl.data import builders
from jaxssl.data import idx
from jaxssl.data import sources

tfds.disable_progress_bar()


# ------------------------------------------------------------------------------ fixtures


def _write_fashion(directory, rng, n_train=50, n_test=20):
  os.makedirs(directory, exist_ok=True)
  arrays = {}
  for prefix, n in (("train", n_train), ("t10k", n_test)):
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    idx.write_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte.gz"), images)
    idx.write_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte.gz"), labels)
    arrays["train" if prefix == "train" else "test"] = (images, labels)
  return arrays


@pytest.fixture(scope="module")
def fashion(tmp_path_factory):
  """Tiny Fashion-MNIST: the source arrays and a data_dir where it is prepared."""
  root = tmp_path_factory.mktemp("fashion")
  arrays = _write_fashion(root / "idx", np.random.default_rng(0))
  data_dir = str(root / "tfds")
  data.prepare("fashion_mnist_idx", data_dir=data_dir, source_dir=root / "idx")
  return arrays, data_dir


def _cifar_batch(rng, n, label_keys, classes):
  batch = {b"batch_label": b"generated", b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
           b"filenames": [b"img%d.png" % i for i in range(n)]}
  for key, k in zip(label_keys, classes):
    batch[key] = [int(x) for x in rng.integers(0, k, n)]
  return batch


def _to_nhwc(flat):
  return flat.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


# ------------------------------------------------------------------------------ IDX


def test_idx_round_trip_and_big_endian(tmp_path):
  x = np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 5
  idx.write_idx(tmp_path / "a.idx", x)
  raw = (tmp_path / "a.idx").read_bytes()
  assert raw[:4] == b"\x00\x00\x0c\x03" and raw[4:8] == (2).to_bytes(4, "big")
  y = idx.read_idx(tmp_path / "a.idx", dtype=np.int32, ndim=3)
  np.testing.assert_array_equal(x, y)


def test_idx_bad_magic_truncated_and_bad_gzip(tmp_path):
  good = bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + b"\x01\x02\x03"
  assert list(idx.parse_idx(good)) == [1, 2, 3]
  with gzip.open(tmp_path / "bad.gz", "wb") as f:
    f.write(b"\x12\x34\x08\x01" + good[4:])
  with pytest.raises(idx.IdxFormatError, match="bad IDX magic number 0x12340801"):
    idx.read_idx(tmp_path / "bad.gz")
  with pytest.raises(idx.IdxFormatError, match="bad IDX magic"):
    idx.parse_idx(bytes([0, 0, 0x42, 1]) + good[4:])  # unknown type code
  with pytest.raises(idx.IdxFormatError, match=r"shape \(3,\).*holds 2 bytes"):
    idx.parse_idx(good[:-1])
  (tmp_path / "notgz.gz").write_bytes(good)
  with pytest.raises(idx.IdxFormatError, match="corrupt gzip"):
    idx.read_idx(tmp_path / "notgz.gz")
  (tmp_path / "plain").write_bytes(good)
  with pytest.raises(idx.IdxFormatError, match="expected 3 dimensions"):
    idx.read_idx(tmp_path / "plain", ndim=3)


def test_prepare_corrupt_idx_raises_and_leaves_nothing_prepared(tmp_path):
  _write_fashion(tmp_path / "idx", np.random.default_rng(1), 5, 3)
  path = tmp_path / "idx" / "t10k-images-idx3-ubyte.gz"
  raw = gzip.decompress(path.read_bytes())
  path.write_bytes(gzip.compress(b"\x00\x00\x08\x07" + raw[4:]))  # 7 dims: sizes disagree
  with pytest.raises(idx.IdxFormatError, match="t10k-images"):
    data.prepare("fashion_mnist_idx", data_dir=tmp_path / "tfds", source_dir=tmp_path / "idx")
  with pytest.raises(data.DatasetNotPreparedError):
    data.load_source("fashion_mnist_idx", "train", data_dir=tmp_path / "tfds")


# ------------------------------------------------------------------------------ Fashion-MNIST


def test_fashion_round_trips_through_load_source(fashion):
  arrays, data_dir = fashion
  for split in ("train", "test"):
    images, labels = arrays[split]
    source = data.load_source("fashion_mnist_idx", split, data_dir=data_dir)
    assert len(source) == len(images)
    records = source.__getitems__(list(range(len(source))))
    for i, r in enumerate(records):
      assert r["image"].dtype == np.uint8 and r["image"].shape == (28, 28, 1)
      np.testing.assert_array_equal(r["image"][..., 0], images[i])
      assert r["label"] == labels[i]


def test_fashion_load_arrays_exact_and_cached(fashion):
  arrays, data_dir = fashion
  images, labels = arrays["train"]
  x, y = data.load_arrays("fashion_mnist_idx", "train", data_dir=data_dir, cache=False)
  assert x.dtype == np.uint8 and x.shape == (50, 28, 28, 1) and y.dtype == np.int32
  np.testing.assert_array_equal(x[..., 0], images)
  np.testing.assert_array_equal(y, labels)
  builder = tfds.builder("fashion_mnist_idx", data_dir=data_dir)
  cache = sources._cache_path(builder, "train")
  if os.path.exists(cache):
    os.remove(cache)
  x1, y1 = data.load_arrays("fashion_mnist_idx", "train", data_dir=data_dir)
  assert os.path.exists(cache)
  assert not [f for f in os.listdir(os.path.dirname(cache)) if f.startswith(".tmp-")]
  x2, y2 = data.load_arrays("fashion_mnist_idx", "train", data_dir=data_dir)  # from the cache
  for a, b in ((x, x1), (x, x2), (y, y1), (y, y2)):
    np.testing.assert_array_equal(a, b)
  # A stale or broken cache is ignored and rewritten.
  np.savez(cache, image=x[:3], label=y[:3])
  x3, _ = data.load_arrays("fashion_mnist_idx", "train", data_dir=data_dir)
  np.testing.assert_array_equal(x3, x)
  with open(cache, "wb") as f:
    f.write(b"garbage")
  x4, y4 = data.load_arrays("fashion_mnist_idx", "train", data_dir=data_dir)
  np.testing.assert_array_equal(x4, x)
  np.testing.assert_array_equal(y4, y)


def test_generic_decode_agrees_with_fast_path(fashion):
  _, data_dir = fashion
  source = data.load_source("fashion_mnist_idx", "test", data_dir=data_dir)
  x, y = sources._decode_generic(source)
  x_fast, y_fast = data.load_arrays("fashion_mnist_idx", "test", data_dir=data_dir, cache=False)
  np.testing.assert_array_equal(x, x_fast)
  np.testing.assert_array_equal(y, y_fast)


def test_loader_reads_a_prepared_tfds_source(fashion):
  arrays, data_dir = fashion
  source = data.load_source("fashion_mnist_idx", "train", data_dir=data_dir)
  batches = list(data.make_loader(source, global_batch_size=10, seed=3, num_epochs=1,
                                  process_index=0, process_count=1))
  assert len(batches) == 5
  images = np.concatenate([b["image"] for b in batches])[..., 0]
  labels = np.concatenate([b["label"] for b in batches])
  order = [int(np.flatnonzero((arrays["train"][0] == im).all(axis=(1, 2)))[0]) for im in images]
  assert sorted(order) == list(range(50)) and order != list(range(50))
  np.testing.assert_array_equal(labels, arrays["train"][1][order])


def test_missing_dataset_error_prints_prepare_command(tmp_path, monkeypatch):
  empty = tmp_path / "nothing here"
  with pytest.raises(data.DatasetNotPreparedError) as info:
    data.load_source("fashion_mnist_idx", "train", data_dir=empty)
  assert isinstance(info.value, FileNotFoundError)
  assert f"jaxssl prepare fashion_mnist_idx --data-dir '{empty}'" in str(info.value)
  with pytest.raises(data.DatasetNotPreparedError, match="jaxssl prepare cifar10_pickle"):
    data.load_arrays("cifar10_pickle", "train", data_dir=empty)
  # Without the Debian package's files the message also gives the apt command.
  monkeypatch.setattr(builders, "FASHION_MNIST_DIR", str(tmp_path / "no-package"))
  with pytest.raises(data.DatasetNotPreparedError, match="apt-get install dataset-fashion-mnist"):
    data.load_source("fashion_mnist_idx", "train", data_dir=empty)
  with pytest.raises(data.DatasetNotPreparedError, match="Unknown data set 'no_such_set_xyz'"):
    data.load_source("no_such_set_xyz", "train", data_dir=empty)


def test_non_array_record_data_set_is_refused_with_conversion_command(tmp_path):
  _write_fashion(tmp_path / "idx", np.random.default_rng(4), 4, 2)
  builder = data.prepare("fashion_mnist_idx", data_dir=tmp_path / "tfds",
                         source_dir=tmp_path / "idx")
  info = os.path.join(os.fspath(builder.data_dir), "dataset_info.json")
  with open(info) as f:
    text = f.read()
  with open(info, "w") as f:  # Pretend it was written as tfrecord (writing one needs TF).
    f.write(text.replace('"fileFormat": "array_record"', '"fileFormat": "tfrecord"'))
  with pytest.raises(data.DatasetNotPreparedError,
                     match="(?s)prepared as tfrecord.*tfds convert_format --dataset_dir"):
    data.load_source("fashion_mnist_idx", "train", data_dir=tmp_path / "tfds")


def test_missing_idx_files_give_apt_command(tmp_path):
  (tmp_path / "src").mkdir()
  with pytest.raises(data.SourceFilesMissingError, match="apt-get install dataset-fashion-mnist"):
    data.prepare("fashion_mnist_idx", data_dir=tmp_path / "tfds", source_dir=tmp_path / "src")


def test_default_data_dir(monkeypatch, tmp_path):
  monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
  assert data.default_data_dir() == str(tmp_path)
  monkeypatch.delenv("TFDS_DATA_DIR")
  assert data.default_data_dir() == os.path.expanduser("~/tensorflow_datasets")


def test_builder_names_do_not_collide_with_tfds():
  assert set(data.LOCAL_BUILDERS) == {"fashion_mnist_idx", "cifar10_pickle", "cifar100_pickle"}
  for ours, theirs in (("fashion_mnist_idx", "fashion_mnist"), ("cifar10_pickle", "cifar10"),
                       ("cifar100_pickle", "cifar100")):
    assert tfds.builder_cls(ours) is data.LOCAL_BUILDERS[ours]
    assert tfds.builder_cls(theirs) is not data.LOCAL_BUILDERS[ours]
    assert tfds.builder_cls(theirs).__module__.startswith("tensorflow_datasets.")
  assert "_cifar_pickle" not in tfds.list_builders(with_community_datasets=False)


# ------------------------------------------------------------------------------ CIFAR


def test_cifar10_round_trips(tmp_path):
  rng = np.random.default_rng(2)
  folder = tmp_path / "manual" / "cifar-10-batches-py"
  folder.mkdir(parents=True)
  train = []
  for i in range(1, 6):
    batch = _cifar_batch(rng, 3, [b"labels"], [10])
    # Python-2-style pickles (protocol 2, bytes keys) and modern ones must both load.
    (folder / f"data_batch_{i}").write_bytes(pickle.dumps(batch, protocol=2 if i % 2 else 5))
    train.append(batch)
  test = _cifar_batch(rng, 4, [b"labels"], [10])
  (folder / "test_batch").write_bytes(pickle.dumps(test, protocol=2))
  names = [f"class{i}".encode() for i in range(10)]
  (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": names}, protocol=2))
  data_dir = tmp_path / "tfds"
  data.prepare("cifar10_pickle", data_dir=data_dir, source_dir=tmp_path / "manual")
  x, y = data.load_arrays("cifar10_pickle", "train", data_dir=data_dir)
  assert x.shape == (15, 32, 32, 3) and x.dtype == np.uint8
  np.testing.assert_array_equal(x, _to_nhwc(np.concatenate([b[b"data"] for b in train])))
  np.testing.assert_array_equal(y, np.concatenate([b[b"labels"] for b in train]))
  source = data.load_source("cifar10_pickle", "test", data_dir=data_dir)
  np.testing.assert_array_equal(source[2]["image"], _to_nhwc(test[b"data"])[2])
  assert source[2]["label"] == test[b"labels"][2]
  info = tfds.builder("cifar10_pickle", data_dir=data_dir).info
  assert info.features["label"].names == [n.decode() for n in names]


def test_cifar100_from_tarball_with_coarse_labels(tmp_path):
  rng = np.random.default_rng(3)
  keys, classes = [b"fine_labels", b"coarse_labels"], [100, 20]
  files = {"train": _cifar_batch(rng, 6, keys, classes),
           "test": _cifar_batch(rng, 2, keys, classes)}
  files["meta"] = {b"fine_label_names": [b"f%d" % i for i in range(100)],
                   b"coarse_label_names": [b"c%d" % i for i in range(20)]}
  with tarfile.open(tmp_path / "cifar-100-python.tar.gz", "w:gz") as tar:
    for name, obj in files.items():
      raw = pickle.dumps(obj, protocol=2)
      member = tarfile.TarInfo(f"cifar-100-python/{name}")
      member.size = len(raw)
      tar.addfile(member, io.BytesIO(raw))
  data_dir = tmp_path / "tfds"
  data.prepare("cifar100_pickle", data_dir=data_dir, source_dir=tmp_path)
  x, y = data.load_arrays("cifar100_pickle", "train", data_dir=data_dir)
  np.testing.assert_array_equal(x, _to_nhwc(files["train"][b"data"]))
  np.testing.assert_array_equal(y, files["train"][b"fine_labels"])
  record = data.load_source("cifar100_pickle", "test", data_dir=data_dir)[1]
  assert record["coarse_label"] == files["test"][b"coarse_labels"][1]
  assert record["label"] == files["test"][b"fine_labels"][1]


class _Evil:
  def __init__(self, marker):
    self.marker = marker

  def __reduce__(self):
    return os.system, (f"touch '{self.marker}'",)


def test_restricted_unpickler_rejects_code(tmp_path):
  marker = tmp_path / "pwned"
  payload = pickle.dumps({b"data": _Evil(marker)})
  assert not marker.exists()
  with pytest.raises(data.UnsafePickleError, match=r"refusing to load global (posix|os)\.system"):
    data.safe_loads(payload)
  assert not marker.exists()
  with pytest.raises(data.UnsafePickleError, match="builtins.eval"):
    data.safe_loads(b"cbuiltins\neval\n(S'1'\ntR.")
  with pytest.raises(data.UnsafePickleError, match="latin1"):
    data.safe_loads(b"c_codecs\nencode\n(S'x'\nS'rot13'\ntR.")
  # ... and a CIFAR batch carrying such a payload stops the preparation.
  folder = tmp_path / "cifar-10-batches-py"
  folder.mkdir()
  for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
    (folder / name).write_bytes(payload)
  with pytest.raises(data.UnsafePickleError):
    data.prepare("cifar10_pickle", data_dir=tmp_path / "tfds", source_dir=tmp_path)
  assert not marker.exists()
  (folder / "data_batch_1").write_bytes(b"not a pickle")
  with pytest.raises(data.SourceFormatError, match="data_batch_1: not a readable CIFAR pickle"):
    data.prepare("cifar10_pickle", data_dir=tmp_path / "tfds", source_dir=tmp_path)


def test_restricted_unpickler_loads_numpy_in_every_protocol():
  x = np.arange(30, dtype=np.uint8).reshape(5, 6)
  for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
    obj = {b"data": x, "f": np.float32(1.5), "t": (1, 2.0, "s", None), "set": {3}}
    out = data.safe_loads(pickle.dumps(obj, protocol=protocol))
    np.testing.assert_array_equal(out[b"data"], x)
    assert out[b"data"].dtype == np.uint8
    assert out["f"] == 1.5 and out["t"] == (1, 2.0, "s", None) and out["set"] == {3}
