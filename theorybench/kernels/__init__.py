"""Numba kernels: each runs whole trajectories from (problem data, hyperparameter vector, start,
rounds, record schedule, seed) into preallocated trace arrays. ``prange`` runs over configurations only."""
