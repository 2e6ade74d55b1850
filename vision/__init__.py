"""GridWatch computer-vision core: decoding, detection, and (later) zones, tracking and rules.

Never imports `service`; pure and testable without a database or a server.
"""
