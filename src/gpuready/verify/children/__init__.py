"""Child-process workloads, one module per framework (`wl_<name>.py`).

These files are run by path in the interpreter being verified (`python gpuready_child.py
MODE NAME PARAMS`), which may not have gpuready installed: they use the standard library,
numpy and the framework under test only, and never import gpuready. The directory is a
package only so that packaging ships the files; nothing imports it.
"""
