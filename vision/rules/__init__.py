"""Violation rules over detections and time: pure functions and small per-camera state, no I/O.

- ``config``: the thresholds (strict pydantic, composed by the site configuration).
- ``events``: what the rules hand over (:class:`~vision.rules.events.ViolationEvent`,
  :class:`~vision.rules.events.ClearEvent`) and the per-frame candidate arrays.
- ``parking``: vehicles staying put in no-parking, fire-lane and sidewalk zones (dwell, flicker-tolerant).
- ``static``: garbage (exposed / overflowing bin), debris, posters and graffiti, per frame;
  :mod:`vision.rules.persistence` adds "k of n samples over T" across frames.
- ``engine``: :class:`~vision.rules.engine.RuleEngine`, per camera, frame by frame.
- ``photo``: :func:`~vision.rules.photo.photo_violations`, one patrol photo on its own.

Reporting policy (cameras): a violation is reported when it is confirmed and again while it is still seen, at
most every ``update_s``; a :class:`ClearEvent` follows when its place has been seen clear for ``clear_s``.
"""
