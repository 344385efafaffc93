"""Backends other than the default Numba kernels.

``array``: the federated methods as one array program over all configurations, written against a NumPy
namespace ``xp`` so that the same code runs on CuPy (a GPU) — the first GPU path. On the CPU it is
tested against the Numba kernels (same counter-based random streams, results within 1e-12)."""
