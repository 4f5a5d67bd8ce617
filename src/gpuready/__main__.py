from gpuready.cli import run

run()
