"""Cases: the lifecycle state machine, the case manager (dedup, recurrence, verification) and KPIs."""
