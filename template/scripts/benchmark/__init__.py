"""The parts of ``scripts/bench_persistence.py``: what it measures and how (``scenarios``,
``workload``, ``measure``), where (``target``), and this backend's raw floor (``*_floor``)."""
