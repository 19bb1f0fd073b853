"""What a frame reader raises; the capture thread turns each into a state and a retry."""

from __future__ import annotations


class CaptureError(Exception):
    """A source that failed to open or to deliver a frame (the message says why)."""


class StreamStalled(CaptureError):
    """No decodable frame within the read timeout, whether or not bytes kept coming."""


class SourceEnded(Exception):
    """A file source reached its end."""
