"""Benchmark suite for source-orderdesk against the local sandbox: `make bench` or `python -m bench [--quick]`.

Every process is measured apart: the sandbox is its own `python -m orderdesk_sandbox` process, and
each connector run (`python main.py read ...`) and each floor run (`python bench/floor.py`) is a
child whose CPU (user + sys) and peak RSS come from `os.wait4`, i.e. the kernel's own accounting
of that one process. Nothing here asserts on time: the figures are reported against their targets.
"""
