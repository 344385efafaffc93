"""The papers' synthetic instances, one module per family. Importing a module registers its problems
with the engine (``theorybench.problem.register_problem``); the engine finds them through the
``theorybench.problems`` entry-point group of ``pyproject.toml``."""
