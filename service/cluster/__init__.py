"""GridWatch on a Ray cluster (the ``[cluster]`` extra): the same per-photo and per-camera work as on one machine,
spread over many.

- :mod:`service.cluster.engine` connects to a cluster (``--cluster ray://head:10001``, ``auto``) or stays local.
- :mod:`service.cluster.archive` scans photo archives with Ray Data: ``map_batches`` over a pool of detector actors
  (CPU or GPU), each with its own context, writing cases to the shared PostgreSQL store.
- :mod:`service.cluster.fleet` runs camera fleets as Ray actors and a supervisor that moves the cameras of a dead
  actor or node to live ones.

The shared store keeps concurrent writers apart (unique indexes, see :meth:`service.store.db.Store.write`) and the
evidence goes to one object store (:mod:`service.store.blobs`), so workers need share nothing else.
"""
