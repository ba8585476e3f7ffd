"""nn.Module and the containers: registration, traversal, modes, gradients,
conversion, state_dict, hooks and repr, with PyTorch's semantics (and, where
PyTorch is installed, its exact repr and state_dict keys)."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import tinyfin as tf
import tinyfin.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4)])
        self.head = nn.Sequential(OrderedDict(out=nn.Linear(4, 2)))
        self.scale = nn.Parameter(tf.ones(2))
        self.register_buffer("steps", tf.zeros((), dtype=tf.int64))
        self.register_buffer("cache", tf.zeros(2), persistent=False)
        self.plain = tf.ones(1)            # a tensor attribute: neither

    def forward(self, x):
        x = self.fc1(x)
        for b in self.blocks:
            x = b(x)
        return self.head(x) * self.scale


KEYS = ["scale", "steps", "fc1.weight", "fc1.bias", "blocks.0.weight", "blocks.0.bias",
        "blocks.1.weight", "blocks.1.bias", "head.out.weight", "head.out.bias"]


def test_registration_and_traversal():
    net = Net()
    assert list(net.state_dict()) == KEYS
    assert [n for n, _ in net.named_parameters()] == [k for k in KEYS if k != "steps"]
    assert [n for n, _ in net.named_buffers()] == ["steps", "cache"]
    assert [n for n, _ in net.named_children()] == ["fc1", "blocks", "head"]
    assert [n for n, _ in net.named_modules()] == [
        "", "fc1", "blocks", "blocks.0", "blocks.1", "head", "head.out"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    assert "plain" not in dict(net.named_buffers())
    assert net.get_submodule("blocks.1") is net.blocks[1]
    assert net.get_parameter("head.out.bias") is net.head.out.bias
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'nope'"):
        net.nope


def test_shared_parameters_are_listed_once():
    a = nn.Linear(2, 2)
    seq = nn.Sequential(a, a)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_assignment_rules():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        m.weight = tf.ones(2, 2)
    m.bias = None
    assert m.bias is None and "bias" not in m.state_dict()
    m.register_buffer("buf", tf.ones(1))
    with pytest.raises(TypeError, match="cannot assign 'int' as buffer 'buf'"):
        m.buf = 3
    del m.buf
    assert "buf" not in dict(m.named_buffers())
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        m.register_buffer("weight", tf.ones(1))


def test_train_eval_reach_every_submodule():
    net = Net()
    assert net.training and net.blocks[0].training
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="boolean"):
        net.train("yes")


def test_gradients_zero_grad_and_requires_grad():
    tf.manual_seed(0)
    net = Net()
    net(tf.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_linear_gradients_match_numpy():
    tf.manual_seed(1)
    lin = nn.Linear(3, 2).double()
    x = np.random.default_rng(0).standard_normal((4, 3))
    lin(tf.tensor(x)).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), np.ones((4, 2)).T @ x, rtol=1e-14)
    np.testing.assert_allclose(lin.bias.grad.numpy(), [4.0, 4.0], rtol=1e-14)


def test_to_keeps_parameter_identity_and_integer_buffers():
    net = Net()
    w = net.fc1.weight
    net(tf.randn(2, 3)).sum().backward()
    net.double()
    assert net.fc1.weight is w and w.dtype is tf.float64 and w.grad.dtype is tf.float64
    assert net.steps.dtype is tf.int64 and net.cache.dtype is tf.float64
    assert net(tf.randn(2, 3, dtype=tf.float64)).dtype is tf.float64
    net.to(tf.float32)
    assert w.dtype is tf.float32
    with pytest.raises(TypeError, match="only accepts floating point dtypes"):
        net.to(tf.int64)


def test_apply_visits_children_first():
    order = []
    Net().apply(lambda m: order.append(type(m).__name__))
    assert order == ["Linear", "Linear", "Linear", "ModuleList", "Linear", "Sequential", "Net"]


def test_state_dict_round_trip_and_errors():
    tf.manual_seed(0)
    a, b = Net(), Net()
    b.load_state_dict(a.state_dict())
    x = tf.randn(4, 3)
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())
    sd = a.state_dict()
    assert sd["fc1.weight"].requires_grad is False
    sd.pop("fc1.bias")
    sd["extra"] = tf.ones(1)
    with pytest.raises(RuntimeError) as e:
        b.load_state_dict(sd)
    assert 'Missing key(s) in state_dict: "fc1.bias"' in str(e.value)
    assert 'Unexpected key(s) in state_dict: "extra"' in str(e.value)
    result = b.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["fc1.bias"] and result.unexpected_keys == ["extra"]
    bad = a.state_dict()
    bad["fc1.weight"] = tf.zeros(4, 4)
    before = b.fc1.bias.detach().numpy().copy()
    with pytest.raises(RuntimeError, match=r"size mismatch for fc1.weight: copying a param "
                       r"with shape \(4, 4\) from checkpoint, the shape in current model is \(4, 3\)"):
        b.load_state_dict(bad)
    np.testing.assert_array_equal(b.fc1.bias.detach().numpy(), before)  # nothing written
    # NumPy arrays load too
    b.load_state_dict({k: v.numpy() for k, v in a.state_dict().items()})


def test_deepcopy_and_pickle():
    tf.manual_seed(2)
    net = Net()
    x = tf.randn(3, 3)
    for other in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert other.fc1.weight is not net.fc1.weight
        assert isinstance(other.fc1.weight, nn.Parameter)
        np.testing.assert_array_equal(other(x).detach().numpy(), net(x).detach().numpy())


def test_forward_hooks():
    lin = nn.Linear(2, 2)
    seen = []
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: seen.append(out.shape) or out + 1)
    out = lin(tf.ones(3, 2))
    np.testing.assert_allclose(out.detach().numpy(), np.broadcast_to(lin.bias.detach().numpy() + 1, (3, 2)))
    assert seen == [(3, 2)]
    h1.remove()
    h2.remove()
    np.testing.assert_array_equal(lin(tf.zeros(1, 2)).detach().numpy()[0], lin.bias.detach().numpy())
    expected = lin(tf.ones(1, 2)).detach().numpy()
    kw = lin.register_forward_pre_hook(lambda m, args, kwargs: ((args[0] + 1,), kwargs),
                                       with_kwargs=True)
    np.testing.assert_array_equal(lin(tf.zeros(1, 2)).detach().numpy(), expected)
    kw.remove()


def test_sequential_indexing_and_editing():
    layers = [nn.Linear(2, 2), nn.Identity(), nn.Linear(2, 3)]
    seq = nn.Sequential(*layers)
    assert seq[0] is layers[0] and seq[-1] is layers[2] and len(seq) == 3
    assert list(seq[1:]._modules) == ["1", "2"]
    del seq[0]
    assert list(seq._modules) == ["0", "1"] and seq[0] is layers[1]
    seq.append(nn.Identity()).insert(0, nn.Linear(2, 2))
    assert len(seq) == 4 and [type(m).__name__ for m in seq] == ["Linear", "Identity", "Linear", "Identity"]
    with pytest.raises(IndexError, match="index 9 is out of range"):
        seq[9]
    x = tf.randn(4, 2)
    np.testing.assert_array_equal(seq(x).detach().numpy(),
                                  seq[3](seq[2](seq[1](seq[0](x)))).detach().numpy())


def test_module_list_dict_and_parameter_list():
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml += [nn.Linear(1, 1)]
    ml.append(nn.Identity())
    assert len(ml) == 3 and list(ml._modules) == ["0", "1", "2"]
    assert len(list(ml.parameters())) == 4
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["b"] = nn.Identity()
    assert list(md.keys()) == ["a", "b"] and "a" in md and len(md) == 2
    pl = nn.ParameterList([tf.ones(2), nn.Parameter(tf.zeros(3))])
    assert all(isinstance(p, nn.Parameter) for p in pl) and len(pl) == 2
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
    pd = nn.ParameterDict({"w": tf.ones(1)})
    assert isinstance(pd["w"], nn.Parameter) and list(dict(pd.named_parameters())) == ["w"]


def test_missing_forward_is_a_clear_error():
    class NoForward(nn.Module):
        pass
    with pytest.raises(NotImplementedError, match=r'Module \[NoForward\] is missing the required "forward"'):
        NoForward()(tf.ones(1))


def test_repr_and_state_dict_keys_match_pytorch():
    torch = pytest.importorskip("torch")

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(3, 4)
            self.blocks = torch.nn.ModuleList([torch.nn.Linear(4, 4), torch.nn.Linear(4, 4)])
            self.head = torch.nn.Sequential(OrderedDict(out=torch.nn.Linear(4, 2)))
            self.scale = torch.nn.Parameter(torch.ones(2))
            self.register_buffer("steps", torch.zeros((), dtype=torch.int64))
            self.register_buffer("cache", torch.zeros(2), persistent=False)

        forward = Net.forward

    ours, theirs = Net(), TorchNet()
    assert repr(ours).replace("Net(", "X(") == repr(theirs).replace("TorchNet(", "X(")
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    ours.load_state_dict(theirs.state_dict())   # torch tensors load as they are
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(tf.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-6, atol=1e-6)
