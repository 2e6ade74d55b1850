"""Background workers: camera streams."""
