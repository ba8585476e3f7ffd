"""The differentiable ops behind nn.functional, one module per concern.
Each calls its C kernels through tinyfin._C and records its backward with
tinyfin.autograd.graph.record, written in differentiable ops so that
gradgradcheck passes."""
