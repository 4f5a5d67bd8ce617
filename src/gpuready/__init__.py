"""gpuready: make GPU-accelerated Python packages really use the GPU on this machine."""

__version__ = "0.1.0"
