"""Algorithm declarations, one module per kernel family: names, hyperparameters (with defaults, ranges
and meaning), the kernel and the code inside it. ``theorybench.algorithms`` imports every module listed
in its ``METHOD_MODULES``."""
