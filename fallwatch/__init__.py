"""Fallwatch: find a person who has collapsed and stays down, and alert the control room."""

from fallwatch.types import EventKind, FallEvent, FallState, Frame, Poses, TrackStatus

__version__ = "0.1.0"
__all__ = ["EventKind", "FallEvent", "FallState", "Frame", "Poses", "TrackStatus", "__version__"]
