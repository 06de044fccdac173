"""Side-by-side benchmarks of tinygrad_nn against hand-written NumPy and installed peers.

Run ``python -m benchmarks.run`` (``--quick`` for a short run); the table goes to
``benchmarks/results.md``.
"""
