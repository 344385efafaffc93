"""One module per paper: its claims as checks and the figures that show them. Each module registers
itself (``theorybench.claims.register_paper``) and is listed in the ``theorybench.papers`` entry-point
group of ``pyproject.toml``; a researcher adds a paper the same way from their own package."""
