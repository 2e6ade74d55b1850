"""GridWatch service: configuration, CLI and (later) store, API and workers."""
