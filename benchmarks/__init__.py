"""Side-by-side benchmarks of tinygrad_nn against hand-written NumPy and installed peers.

Run ``python -m benchmarks.run`` (``--quick`` for a short run); it prints the tables, and
``--out FILE`` also writes them (``benchmarks/results.md`` holds the run the docs quote).
``python -m benchmarks.stepper_page`` times the backprop stepper's page on a 5,000-node graph in
headless Chromium.
"""
