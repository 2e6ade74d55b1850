"""Photo batches: uploads received to disk (``ingest``), their rows (``store``) and the background ``worker``."""
