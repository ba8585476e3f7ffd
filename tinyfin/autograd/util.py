"""Helpers the gradient formulas share."""
from __future__ import annotations


def sum_to(grad, shape: tuple):
    """Sum grad over the dims that broadcasting added or stretched, so it
    gets the shape of the input it flows back to."""
    shape = tuple(shape)
    gshape = tuple(grad.shape)
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)
    dims = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and gshape[lead + i] != 1)
    if dims:
        grad = grad.sum(dim=dims, keepdim=True)
    return grad.reshape(shape)
