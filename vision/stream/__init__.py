"""Camera stream readers."""
