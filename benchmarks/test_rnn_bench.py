"""Recurrent and attention layers, forward + backward, tinyfin vs PyTorch on
the same thread count, identical weights (loaded through state_dict):
LSTM, seq 32, batch 32, 128 -> 256, one layer; MultiheadAttention, batch
32, seq 64, embed 256, 8 heads (self-attention, batch_first, need_weights
as PyTorch's default). One round = forward, sum of the outputs, backward
into the input and every parameter. The table gives milliseconds per round.
"""
import numpy as np
import pytest

import bench_tables as tables
import tinyfin

tables.TABLES.setdefault("rnn", tables.Table(
    "recurrent and attention layers, forward + backward", ("layer", "shape", "threads"), "ms",
    lambda s, _: s * 1e3, ("tinyfin", "PyTorch"), (("tinyfin", "PyTorch"),),
    "Milliseconds per forward + backward (fastest round). The ratio is of times: above 1, "
    "tinyfin is slower (the target is at most 1.5).", tables.THREADS))

SEQ, BATCH, IN, HIDDEN = 32, 32, 128, 256
THREADS = (1, tables.THREADS)   # both libraries on the same count; 1 is steadier on a busy machine
MHA_BATCH, MHA_SEQ, EMBED, HEADS = 32, 64, 256, 8


def _tensor(lib, a):
    t = lib.tensor(a) if lib is tinyfin else lib.from_numpy(a)
    return t.requires_grad_()


@pytest.mark.parametrize("threads", THREADS, indirect=True)
@pytest.mark.parametrize("lib_name", ("tinyfin", "PyTorch"))
@pytest.mark.benchmark(group="LSTM forward+backward", max_time=2.0)
def test_lstm_forward_backward(benchmark, lib_name, threads, request):
    torch = request.getfixturevalue("torch_or_skip")
    tm = torch.nn.LSTM(IN, HIDDEN)
    if lib_name == "tinyfin":
        lib = tinyfin
        m = tinyfin.nn.LSTM(IN, HIDDEN)
        m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    else:
        lib, m = torch, tm
    x = _tensor(lib, np.random.default_rng(0).standard_normal((SEQ, BATCH, IN)).astype(np.float32))

    def step():
        out, (h, c) = m(x)
        (out.sum() + h.sum() + c.sum()).backward()
    step()
    benchmark(step)
    tables.record(benchmark, "rnn", ("LSTM", f"seq {SEQ}, batch {BATCH}, {IN} -> {HIDDEN}",
                                     str(threads)), lib_name)


@pytest.mark.parametrize("threads", THREADS, indirect=True)
@pytest.mark.parametrize("lib_name", ("tinyfin", "PyTorch"))
@pytest.mark.benchmark(group="MultiheadAttention forward+backward", max_time=2.0)
def test_mha_forward_backward(benchmark, lib_name, threads, request):
    torch = request.getfixturevalue("torch_or_skip")
    tm = torch.nn.MultiheadAttention(EMBED, HEADS, batch_first=True)
    if lib_name == "tinyfin":
        lib = tinyfin
        m = tinyfin.nn.MultiheadAttention(EMBED, HEADS, batch_first=True)
        m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    else:
        lib, m = torch, tm
    x = _tensor(lib, np.random.default_rng(1).standard_normal(
        (MHA_BATCH, MHA_SEQ, EMBED)).astype(np.float32))

    def step():
        out, w = m(x, x, x)
        (out.sum() + w.sum()).backward()
    step()
    benchmark(step)
    tables.record(benchmark, "rnn", ("MultiheadAttention",
                                     f"batch {MHA_BATCH}, seq {MHA_SEQ}, embed {EMBED}, "
                                     f"{HEADS} heads", str(threads)), lib_name)
