"""The Module classes, one file per concern as in torch/nn/modules/."""
__all__: list = []
