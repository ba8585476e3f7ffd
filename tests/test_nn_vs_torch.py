"""Every module-database sample against PyTorch's layer with identical
weights (loaded through state_dict, so the keys must match one to one):
forward outputs, buffers after the forward, and the gradients of every float
input and every parameter, in float64. Skipped where PyTorch is not
installed (CI does not need it)."""
import numpy as np
import pytest

import tinyfin as tf
from verify import moduledb
from verify.checks.modules import flatten, to_tensors

torch = pytest.importorskip("torch")

CASES = [(info, s) for info in moduledb.all_modules() for s in info.samples()
         if s.make_args is None]


def _torch_inputs(arrays):
    out = []
    for a in arrays:
        if isinstance(a, np.ndarray):
            t = torch.tensor(a)
            out.append(t.requires_grad_() if a.dtype.kind == "f" else t)
        else:
            out.append(a)
    return out


def _torch_ctor(value):
    """A constructor argument for PyTorch: tinyfin tensors (a loss's class
    weights) become torch float64 tensors."""
    if isinstance(value, tf.Tensor):
        t = torch.tensor(value.numpy())
        return t.double() if t.is_floating_point() else t
    return value


def _torch_flatten(out):
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _torch_flatten(o)]
    return [out] if isinstance(out, torch.Tensor) and out.is_floating_point() else []


@pytest.mark.parametrize("info,s", CASES, ids=[f"{i.name}-{s.desc}" for i, s in CASES])
def test_module_matches_pytorch(info, s):
    modes = [True, False] if info.train_eval == "differs" else [True]
    for training in modes:
        if training and info.random_in_train:
            continue
        tf.manual_seed(0)
        ours = info.build(s, "float64").train(training)
        theirs = getattr(torch.nn, info.torch_name or info.name)(
            *map(_torch_ctor, s.ctor_args), **{k: _torch_ctor(v) for k, v in s.ctor_kwargs.items()})
        theirs = theirs.double().train(training)
        sd = ours.state_dict()
        assert list(sd) == list(theirs.state_dict()), "state_dict keys differ from PyTorch's"
        theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in sd.items()})
        arrays = s.inputs(np.random.default_rng(0))
        x_ours = to_tensors(arrays, "float64", requires_grad=True)
        x_theirs = _torch_inputs(arrays)
        out_ours = flatten(ours(*x_ours, **s.forward_kwargs))
        out_theirs = _torch_flatten(theirs(*x_theirs, **s.forward_kwargs))
        assert len(out_ours) == len(out_theirs)
        tol = dict(rtol=info.torch_tol, atol=info.torch_tol)
        for a, b in zip(out_ours, out_theirs):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **tol)
        for k, v in ours.state_dict().items():   # buffers after the forward
            np.testing.assert_allclose(np.asarray(v.numpy(), np.float64),
                                       theirs.state_dict()[k].double().numpy(), **tol)
        # gradients of a random weighting of every output
        rng = np.random.default_rng(1)
        weights = [rng.standard_normal(o.shape) for o in out_ours]
        live = [i for i, o in enumerate(out_ours) if o.requires_grad]
        if not live:
            continue
        sum(((out_ours[i] * tf.tensor(weights[i])).sum() for i in live), tf.zeros(())).backward()
        sum((out_theirs[i] * torch.tensor(weights[i])).sum() for i in live).backward()
        for a, b in zip(x_ours, x_theirs):
            if isinstance(a, tf.Tensor) and a.requires_grad:
                assert (a.grad is None) == (b.grad is None)
                if a.grad is not None:
                    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol)
        theirs_params = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            q = theirs_params[name]
            assert (p.grad is None) == (q.grad is None), name
            if p.grad is not None:
                np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), err_msg=name, **tol)
