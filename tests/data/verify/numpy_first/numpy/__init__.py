"""A stand-in for numpy: importing it stands for loading the shared libstdc++.so.6."""
__version__ = "2.0.0-fake"
