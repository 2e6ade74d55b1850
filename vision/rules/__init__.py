"""Violation rules over detections and time: pure functions and small per-camera state, no I/O."""
