"""GridWatch's domain core, shared by the vision and the service halves and importing neither.

``taxonomy`` (detector labels, violation types, national event codes), ``lifecycle`` (case states, actions and the
one table of allowed transitions) and ``errors`` (the :class:`~domain.errors.GridWatchError` family).
"""
