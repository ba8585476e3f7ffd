"""tinyfin.utils.data's datasets, samplers and default_collate: values
against expected ones, distribution checks for the random samplers, the
error types and messages of PyTorch, and (where torch imports) PyTorch's
deterministic parts (split lengths, batch structure)."""
from __future__ import annotations

import collections
import math
import warnings

import numpy as np
import pytest

import tinyfin
from tinyfin.utils.data import (BatchSampler, ChainDataset, ConcatDataset, Dataset,
                                IterableDataset, RandomSampler, SequentialSampler, Subset,
                                SubsetRandomSampler, TensorDataset, WeightedRandomSampler,
                                default_collate, default_convert, random_split)


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i * i


class Stream(IterableDataset):
    def __init__(self, items):
        self.items = list(items)

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


# ----------------------------------------------------------------- datasets
def test_dataset_base_and_add():
    with pytest.raises(NotImplementedError, match="should implement __getitem__"):
        Dataset()[0]
    both = Squares(3) + Squares(2)
    assert isinstance(both, ConcatDataset)
    assert [both[i] for i in range(len(both))] == [0, 1, 4, 0, 1]
    chained = Stream([1, 2]) + Stream([3])
    assert isinstance(chained, ChainDataset)
    assert list(chained) == [1, 2, 3] and len(chained) == 3
    with pytest.raises(AssertionError, match="only supports IterableDataset"):
        list(ChainDataset([Stream([1]), Squares(2)]))


def test_tensor_dataset():
    x = tinyfin.arange(12, dtype=tinyfin.float32).reshape(4, 3)
    y = tinyfin.tensor([5, 6, 7, 8])
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    xi, yi = ds[2]
    np.testing.assert_array_equal(xi.numpy(), [6, 7, 8])
    assert yi.item() == 7
    xs, ys = ds[[3, 0]]
    np.testing.assert_array_equal(xs.numpy(), [[9, 10, 11], [0, 1, 2]])
    np.testing.assert_array_equal(ys.numpy(), [8, 5])
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(x, tinyfin.arange(3))
    with pytest.raises(TypeError, match="tinyfin Tensors"):
        TensorDataset(x, [1, 2, 3, 4])


def test_subset():
    sub = Subset(Squares(10), [7, 2, 2, 9])
    assert len(sub) == 4
    assert [sub[i] for i in range(4)] == [49, 4, 4, 81]
    assert sub.__getitems__([3, 0]) == [81, 49]
    x = tinyfin.arange(10)
    sub = Subset(TensorDataset(x), [4, 1])
    np.testing.assert_array_equal(sub[[1, 0]][0].numpy(), [1, 4])


def test_concat_dataset_every_index():
    parts = [Squares(3), Squares(0), Squares(4), Squares(1)]
    cat = ConcatDataset(parts)
    flat = [d[i] for d in parts for i in range(len(d))]
    assert cat.cumulative_sizes == [3, 3, 7, 8] and len(cat) == 8
    for i in range(-len(flat), len(flat)):
        assert cat[i] == flat[i], i
    with pytest.raises(ValueError, match="absolute value of index should not exceed"):
        cat[-9]
    with pytest.raises(IndexError):
        cat[8]
    with pytest.raises(AssertionError, match="should not be an empty iterable"):
        ConcatDataset([])
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        ConcatDataset([Squares(2), Stream([1])])


@pytest.mark.parametrize("n,lengths,expected", [
    (10, [3, 7], [3, 7]),
    (10, [0.3, 0.7], [3, 7]),
    (10, [0.33, 0.33, 0.34], [4, 3, 3]),   # floors 3,3,3; the remainder to the first
    (11, [0.5, 0.5], [6, 5]),
    (7, [0.25, 0.25, 0.25, 0.25], [2, 2, 2, 1]),
    (2, [0.1, 0.1, 0.8], [1, 0, 1]),
])
def test_random_split_lengths(n, lengths, expected):
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        parts = random_split(Squares(n), lengths, generator=tinyfin.Generator().manual_seed(0))
    assert [len(p) for p in parts] == expected
    picked = sorted(i for p in parts for i in p.indices)
    assert picked == list(range(n))  # disjoint and complete


def test_random_split_lengths_match_pytorch():
    torch = pytest.importorskip("torch")
    for n, lengths in [(10, [0.33, 0.33, 0.34]), (11, [0.5, 0.5]), (101, [0.1] * 10),
                       (7, [0.25] * 4), (13, [0.6, 0.4])]:
        ours = [len(p) for p in random_split(range(n), lengths)]
        theirs = [len(p) for p in torch.utils.data.random_split(range(n), lengths)]
        assert ours == theirs, (n, lengths)


def test_random_split_seeded_and_errors():
    g = tinyfin.Generator()
    a = [p.indices for p in random_split(Squares(20), [5, 15], generator=g.manual_seed(4))]
    b = [p.indices for p in random_split(Squares(20), [5, 15], generator=g.manual_seed(4))]
    c = [p.indices for p in random_split(Squares(20), [5, 15], generator=g.manual_seed(5))]
    assert a == b and a != c
    tinyfin.manual_seed(8)
    d = [p.indices for p in random_split(Squares(20), [5, 15])]
    tinyfin.manual_seed(8)
    assert d == [p.indices for p in random_split(Squares(20), [5, 15])]
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(Squares(10), [3, 3])
    with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
        random_split(Squares(10), [1.5, -0.5])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(Squares(2), [0.1, 0.1, 0.8])


# ----------------------------------------------------------------- samplers
def test_sequential_sampler():
    s = SequentialSampler(Squares(5))
    assert list(s) == [0, 1, 2, 3, 4] and len(s) == 5


def test_random_sampler_is_a_seeded_permutation():
    g = tinyfin.Generator().manual_seed(1)
    s = RandomSampler(Squares(50), generator=g)
    e1, e2 = list(s), list(s)
    assert sorted(e1) == list(range(50)) and sorted(e2) == list(range(50))
    assert e1 != e2  # the generator moves on between epochs
    g.manual_seed(1)
    assert list(s) == e1 and list(s) == e2


def test_random_sampler_default_generator_follows_manual_seed():
    s = RandomSampler(Squares(40))
    tinyfin.manual_seed(123)
    a1, a2 = list(s), list(s)
    tinyfin.manual_seed(123)
    assert list(s) == a1 and list(s) == a2
    assert a1 != a2


def test_random_sampler_replacement_and_num_samples():
    g = tinyfin.Generator().manual_seed(2)
    s = RandomSampler(Squares(7), replacement=True, num_samples=100, generator=g)
    draws = list(s)
    assert len(draws) == len(s) == 100 and set(draws) <= set(range(7))
    assert len(set(draws)) == 7  # 100 draws of 7 values: all appear (p ~ 1 - 7 (6/7)^100)
    s = RandomSampler(Squares(7), num_samples=17, generator=g)  # without replacement
    draws = list(s)
    assert len(draws) == 17
    assert sorted(draws[:7]) == list(range(7)) and sorted(draws[7:14]) == list(range(7))
    assert len(set(draws[14:])) == 3


def test_random_sampler_errors():
    with pytest.raises(TypeError, match="replacement should be a boolean value, but got "
                                        "replacement=1"):
        RandomSampler(Squares(3), replacement=1)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="num_samples should be a positive integer"):
            RandomSampler(Squares(3), num_samples=bad)
    with pytest.raises(ValueError, match="num_samples=0"):
        RandomSampler(Squares(0))


def test_permutations_are_uniform():
    """All 6 orders of 3 items, 6000 epochs: each count within 5 sigma of 1000."""
    g = tinyfin.Generator().manual_seed(11)
    s = RandomSampler(Squares(3), generator=g)
    counts = collections.Counter(tuple(s) for _ in range(6000))
    assert len(counts) == 6
    sigma = math.sqrt(6000 * (1 / 6) * (5 / 6))
    assert all(abs(c - 1000) < 5 * sigma for c in counts.values()), counts


def test_subset_random_sampler():
    idx = [10, 20, 30, 40, 50]
    g = tinyfin.Generator().manual_seed(3)
    s = SubsetRandomSampler(idx, generator=g)
    a = list(s)
    assert sorted(a) == idx and len(s) == 5
    g.manual_seed(3)
    assert list(s) == a


def test_weighted_sampler_with_replacement_frequencies():
    w = [1.0, 0.0, 3.0, 6.0]
    s = WeightedRandomSampler(w, 20000, generator=tinyfin.Generator().manual_seed(4))
    counts = np.bincount(list(s), minlength=4)
    assert counts[1] == 0
    p = np.array(w) / sum(w)
    sigma = np.sqrt(20000 * p * (1 - p))
    assert np.all(np.abs(counts - 20000 * p) < 5 * sigma + 1e-9), counts


def test_weighted_sampler_without_replacement():
    w = tinyfin.tensor([5.0, 0.0, 1.0, 1.0, 3.0])  # a tensor works too
    g = tinyfin.Generator().manual_seed(5)
    s = WeightedRandomSampler(w, 4, replacement=False, generator=g)
    firsts = []
    for _ in range(4000):
        draw = list(s)
        assert sorted(draw) == [0, 2, 3, 4]  # distinct, never the zero weight
        firsts.append(draw[0])
    # the first draw is weight-proportional: 0.5, 0, 0.1, 0.1, 0.3
    p = np.array([5, 0, 1, 1, 3]) / 10
    counts = np.bincount(firsts, minlength=5)
    assert np.all(np.abs(counts - 4000 * p) < 5 * np.sqrt(4000 * p * (1 - p)) + 1e-9)
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        list(WeightedRandomSampler(w, 5, replacement=False))


def test_weighted_sampler_errors():
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, "
                                         "but got num_samples=0"):
        WeightedRandomSampler([1.0], 0)
    with pytest.raises(ValueError, match="replacement should be a boolean value"):
        WeightedRandomSampler([1.0], 1, replacement="yes")
    with pytest.raises(ValueError, match=r"weights should be a 1d sequence but given "
                                         r"weights have shape \(1, 2\)"):
        WeightedRandomSampler([[1.0, 2.0]], 1)
    with pytest.raises(RuntimeError, match="element < 0"):
        list(WeightedRandomSampler([1.0, -1.0], 2))
    with pytest.raises(RuntimeError, match="element < 0"):
        list(WeightedRandomSampler([1.0, float("nan")], 2))
    with pytest.raises(RuntimeError, match="sum of probabilities <= 0"):
        list(WeightedRandomSampler([0.0, 0.0], 2))


def test_batch_sampler():
    assert list(BatchSampler(range(7), 3, False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(range(7), 3, True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, False)) == 3
    assert len(BatchSampler(range(7), 3, True)) == 2
    assert len(BatchSampler(range(6), 3, False)) == 2
    for bad in (0, -1, 2.0, True, None):
        with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
            BatchSampler(range(3), bad, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value, but got "
                                         "drop_last=1"):
        BatchSampler(range(3), 2, 1)


def test_batch_sampler_matches_pytorch():
    torch = pytest.importorskip("torch")
    for n in range(0, 12):
        for bs in (1, 2, 3, 5):
            for drop in (False, True):
                theirs = torch.utils.data.BatchSampler(range(n), bs, drop)
                ours = BatchSampler(range(n), bs, drop)
                assert list(ours) == list(theirs) and len(ours) == len(theirs)


# ------------------------------------------------------------------ collate
def test_collate_tensors_arrays_and_numbers():
    a = [tinyfin.tensor([1.0, 2.0]), tinyfin.tensor([3.0, 4.0])]
    out = default_collate(a)
    assert out.dtype == tinyfin.float32 and out.shape == (2, 2)
    np.testing.assert_array_equal(out.numpy(), [[1, 2], [3, 4]])
    out = default_collate([np.arange(3, dtype=np.float64), np.ones(3)])
    assert out.dtype == tinyfin.float64
    np.testing.assert_array_equal(out.numpy(), [[0, 1, 2], [1, 1, 1]])
    out = default_collate([np.float32(1.5), np.float32(2.5)])
    assert out.dtype == tinyfin.float32 and out.numpy().tolist() == [1.5, 2.5]
    out = default_collate([1, 2, 3])
    assert out.dtype == tinyfin.int64 and out.numpy().tolist() == [1, 2, 3]
    out = default_collate([0.5, 1.0])
    assert out.dtype == tinyfin.float64 and out.numpy().tolist() == [0.5, 1.0]
    out = default_collate([True, False])
    assert out.dtype == tinyfin.bool and out.numpy().tolist() == [True, False]
    assert default_collate(["a", "b"]) == ["a", "b"]
    assert default_collate([b"a", b"b"]) == [b"a", b"b"]


def test_collate_structures():
    Point = collections.namedtuple("Point", "x label")
    batch = [{"img": np.zeros((2, 2), np.float32), "meta": (1, "a"), "p": Point(1.0, 3)},
             {"img": np.ones((2, 2), np.float32), "meta": (2, "b"), "p": Point(2.0, 4)}]
    out = default_collate(batch)
    assert set(out) == {"img", "meta", "p"}
    assert out["img"].shape == (2, 2, 2)
    np.testing.assert_array_equal(out["img"].numpy()[1], np.ones((2, 2)))
    assert isinstance(out["meta"], list)  # a tuple sample gives a list, as PyTorch
    assert out["meta"][0].numpy().tolist() == [1, 2] and out["meta"][1] == ("a", "b")
    assert isinstance(out["p"], Point)
    assert out["p"].x.dtype == tinyfin.float64 and out["p"].label.numpy().tolist() == [3, 4]
    out = default_collate([[1, 2], [3, 4]])  # list samples stay lists of batches
    assert isinstance(out, list) and [t.numpy().tolist() for t in out] == [[1, 3], [2, 4]]


def test_collate_mismatched_shapes_names_them():
    batch = [(tinyfin.zeros(3), 0), (tinyfin.zeros(3), 1), (tinyfin.zeros(2), 2)]
    with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size, "
                                           r"but got \(3,\) at entry 0 and \(2,\) at entry 2 "
                                           r"of the batch \(field \[0\] of the samples\)"):
        default_collate(batch)
    with pytest.raises(RuntimeError, match=r"field \['x'\]"):
        default_collate([{"x": np.zeros(2)}, {"x": np.zeros(4)}])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of "
                                           "equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="batch must contain tensors, numpy arrays, numbers, "
                                        "dicts or lists; found <class 'object'>"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="found <U1"):
        default_collate([np.array(["a"]), np.array(["b"])])


def test_collate_matches_pytorch_structure():
    torch = pytest.importorskip("torch")
    Point = collections.namedtuple("Point", "x y")
    batch = [{"a": np.arange(3.0), "b": (1, 2.5, True, "s"), "c": [Point(1, 2.0)]},
             {"a": np.arange(3.0) + 1, "b": (3, 4.5, False, "t"), "c": [Point(3, 4.0)]}]
    ours = default_collate(batch)
    theirs = torch.utils.data.default_collate(batch)

    def same(o, t):
        if isinstance(t, torch.Tensor):
            assert str(o.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
            np.testing.assert_array_equal(o.numpy(), t.numpy())
        elif isinstance(t, dict):
            assert type(o) is type(t) and o.keys() == t.keys()
            for k in t:
                same(o[k], t[k])
        elif isinstance(t, (list, tuple)):
            assert type(o) is type(t) and len(o) == len(t)
            for a, b in zip(o, t):
                same(a, b)
        else:
            assert o == t
    same(ours, theirs)


def test_default_convert():
    Point = collections.namedtuple("Point", "x y")
    out = default_convert({"a": np.arange(2), "b": (np.float64(1.5), "s"),
                           "c": Point(np.ones(1), 3)})
    assert isinstance(out["a"], tinyfin.Tensor) and out["a"].numpy().tolist() == [0, 1]
    assert isinstance(out["b"], list) and out["b"][0].item() == 1.5 and out["b"][1] == "s"
    assert isinstance(out["c"], Point) and isinstance(out["c"].x, tinyfin.Tensor)
    assert out["c"].y == 3  # plain numbers are left alone
    t = tinyfin.ones(2)
    assert default_convert(t) is t
