"""The ``gridwatch`` command line (:mod:`cli.main`), one module per command."""
