"""Steepest descent in a norm and momentum GD on the vector template (stub: being written)."""
