"""Algorithm declarations, one module per kernel family: names, hyperparameters (with defaults, ranges
and meaning), the kernel and the code inside it. Each module is listed in the ``theorybench.methods``
entry-point group of ``pyproject.toml``; ``theorybench.algorithms`` imports them on the registry's first use."""
