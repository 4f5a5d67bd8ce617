"""A dlib that, like the one built with /opt/gcc (static libstdc++), dies when numpy came first."""
import os
import signal
import sys

if "numpy" in sys.modules:
    sys.stderr.write("Fatal Python error: Segmentation fault (simulated libstdc++ clash)\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGSEGV)

__version__ = "20.0.1"
DLIB_USE_CUDA = False
