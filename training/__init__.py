"""Training-side tools (need the ``[train]`` extra): export, and later dataset building, training and evaluation."""
