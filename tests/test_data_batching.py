"""In-memory epochs, the grain loader and host->device sharding (8 CPU devices from conftest)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxssl import data


# ------------------------------------------------------------------------------ epoch_permutation


def test_epoch_permutation_seeded_and_exact():
  key = jax.random.key(0)
  idx = data.epoch_permutation(key, 100, 10)
  assert idx.shape == (10, 10) and idx.dtype == jnp.int32
  np.testing.assert_array_equal(np.sort(np.asarray(idx).ravel()), np.arange(100))
  np.testing.assert_array_equal(idx, data.epoch_permutation(jax.random.key(0), 100, 10))
  other = data.epoch_permutation(jax.random.key(1), 100, 10)
  assert not np.array_equal(idx, other)
  np.testing.assert_array_equal(np.sort(np.asarray(other).ravel()), np.arange(100))
  assert not np.array_equal(np.asarray(idx).ravel(), np.arange(100))  # actually shuffled
  jitted = jax.jit(data.epoch_permutation, static_argnums=(1, 2))(key, 100, 10)
  np.testing.assert_array_equal(idx, jitted)


def test_epoch_permutation_drops_remainder():
  idx = np.asarray(data.epoch_permutation(jax.random.key(3), 103, 10)).ravel()
  assert idx.shape == (100,) and len(set(idx.tolist())) == 100
  assert idx.min() >= 0 and idx.max() < 103
  dropped = set(range(103)) - set(idx.tolist())
  assert len(dropped) == 3
  with pytest.raises(ValueError, match="exceeds the 5 examples"):
    data.epoch_permutation(jax.random.key(0), 5, 8)


# ------------------------------------------------------------------------------ grain loader


class _ArraySource:
  """Random-access source over arrays; image pixel [0, 0, 0] and label both encode the index."""

  def __init__(self, n):
    self.images = np.zeros((n, 4, 4, 1), np.uint8)
    self.images[:, 0, 0, 0] = np.arange(n) % 256
    self.labels = np.arange(n)

  def __len__(self):
    return len(self.labels)

  def __getitem__(self, i):
    return {"image": self.images[i], "label": self.labels[i]}

  def __getitems__(self, indices):
    return [self[i] for i in indices]


def _labels(batches):
  return [b["label"].tolist() for b in batches]


def _loader(source, **kwargs):
  kwargs.setdefault("process_index", 0)
  kwargs.setdefault("process_count", 1)
  return data.make_loader(source, **kwargs)


def test_loader_batches_dtypes_and_exactly_once_per_epoch():
  source = _ArraySource(105)
  batches = list(_loader(source, global_batch_size=10, seed=0, num_epochs=2))
  assert len(batches) == 20  # 10 full batches per epoch, the remainder of 5 dropped
  b = batches[0]
  assert b["image"].dtype == np.uint8 and b["image"].shape == (10, 4, 4, 1)
  assert b["label"].dtype == np.int32 and b["label"].shape == (10,)
  np.testing.assert_array_equal(b["image"][:, 0, 0, 0], b["label"] % 256)
  epochs = [np.concatenate(_labels(batches[e * 10:(e + 1) * 10])) for e in range(2)]
  for e in epochs:
    assert len(set(e.tolist())) == 100 and set(e.tolist()) <= set(range(105))
  assert not np.array_equal(epochs[0], epochs[1])  # each epoch reshuffled
  assert not np.array_equal(epochs[0], np.sort(epochs[0]))


def test_loader_seeded_and_unshuffled():
  source = _ArraySource(40)
  a = _labels(_loader(source, global_batch_size=8, seed=5, num_epochs=1))
  b = _labels(_loader(source, global_batch_size=8, seed=5, num_epochs=1, prefetch=0))
  c = _labels(_loader(source, global_batch_size=8, seed=6, num_epochs=1))
  assert a == b and a != c
  plain = _labels(_loader(source, global_batch_size=8, seed=5, num_epochs=1, shuffle=False))
  assert np.concatenate(plain).tolist() == list(range(40))


def test_loader_processes_read_disjoint_contiguous_shards():
  source = _ArraySource(41)
  seen = []
  for p in range(2):
    batches = list(data.make_loader(source, global_batch_size=10, seed=1, num_epochs=1,
                                    process_index=p, process_count=2))
    assert len(batches) == 4 and all(b["label"].shape == (5,) for b in batches)
    seen.append(set(np.concatenate(_labels(batches)).tolist()))
  assert seen[0] == set(range(20)) and seen[1] == set(range(20, 40))  # 41 // 2 = 20 each


def test_loader_errors():
  source = _ArraySource(20)
  with pytest.raises(ValueError, match="multiple of process_count 2"):
    data.make_loader(source, global_batch_size=15, seed=0, process_index=0, process_count=2)
  with pytest.raises(ValueError, match="fewer than its batch of 16"):
    data.make_loader(source, global_batch_size=32, seed=0, process_index=1, process_count=2)
  with pytest.raises(ValueError, match="process_index 2"):
    data.make_loader(source, global_batch_size=4, seed=0, process_index=2, process_count=2)


def test_loader_state_resumes_exactly():
  source = _ArraySource(30)
  loader = _loader(source, global_batch_size=4, seed=2, num_epochs=3)
  it = iter(loader)
  for _ in range(9):  # past the first epoch's 7 batches
    next(it)
  state = it.get_state()
  expected = [next(it)["label"].tolist() for _ in range(4)]
  resumed = iter(loader)
  resumed.set_state(state)
  assert [next(resumed)["label"].tolist() for _ in range(4)] == expected
  fresh = iter(loader)
  assert [next(fresh)["label"].tolist() for _ in range(4)] != expected


def test_loader_map_fn_applies_per_record():
  source = _ArraySource(12)

  def flip(record):
    return {"image": 255 - record["image"], "label": record["label"] + 100}

  batch = next(iter(_loader(source, global_batch_size=4, seed=0, map_fn=flip)))
  assert (batch["label"] >= 100).all()
  np.testing.assert_array_equal(batch["image"][:, 0, 0, 0], 255 - (batch["label"] - 100))


# ------------------------------------------------------------------------------ sharding


def test_global_batch_shards_over_data_axis():
  assert jax.device_count() == 8
  mesh = jax.make_mesh((8,), ("data",))
  local = {"image": np.arange(16 * 3, dtype=np.uint8).reshape(16, 3), "label": np.arange(16)}
  out = data.global_batch(local, mesh)
  assert out["image"].shape == (16, 3) and out["label"].shape == (16,)
  assert out["image"].sharding.is_equivalent_to(NamedSharding(mesh, P("data")), 2)
  np.testing.assert_array_equal(out["image"], local["image"])
  for shard in out["image"].addressable_shards:
    assert shard.data.shape == (2, 3)
    np.testing.assert_array_equal(shard.data, local["image"][shard.index])
  assert len({s.device for s in out["image"].addressable_shards}) == 8


def test_global_batch_on_2d_mesh_and_errors():
  mesh = jax.make_mesh((4, 2), ("data", "model"))
  x = np.arange(12, dtype=np.float32)
  out = data.global_batch({"x": x}, mesh)["x"]
  assert {s.data.shape for s in out.addressable_shards} == {(3,)}
  assert out.sharding.spec == P("data")
  np.testing.assert_array_equal(out, x)
  both = data.global_batch({"x": np.arange(16)}, mesh, axis=("data", "model"))["x"]
  assert {s.data.shape for s in both.addressable_shards} == {(2,)}
  mesh8 = jax.make_mesh((8,), ("data",))
  with pytest.raises(ValueError, match="batch 12 .*not divisible by the 8 devices.*4 too many"):
    data.global_batch({"x": np.zeros((12, 2))}, mesh8)
  with pytest.raises(ValueError, match="mesh has no axis 'batch'"):
    data.global_batch({"x": np.zeros(8)}, mesh8, axis="batch")
  with pytest.raises(ValueError, match="same leading"):
    data.global_batch({"x": np.zeros(8), "y": np.zeros(16)}, mesh8)


def test_replicate_and_gather_in_jit():
  mesh = jax.make_mesh((8,), ("data",))
  images = np.arange(20 * 2, dtype=np.uint8).reshape(20, 2)
  dev = data.replicate(images, mesh)
  assert dev.sharding.is_fully_replicated and len(dev.addressable_shards) == 8
  idx = data.epoch_permutation(jax.random.key(0), 20, 8)
  batch = jax.jit(lambda a, i: a[i[1]])(dev, idx)
  np.testing.assert_array_equal(batch, images[np.asarray(idx[1])])


def test_loader_worker_processes_match_in_process_reading():
  source = _ArraySource(48)
  kwargs = dict(global_batch_size=8, seed=4, num_epochs=1, process_index=0, process_count=1)
  expected = _labels(data.make_loader(source, **kwargs))
  it = iter(data.make_loader(source, worker_count=1, **kwargs))
  try:
    assert _labels(it) == expected
  finally:
    it.close()
