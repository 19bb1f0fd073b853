"""What happens to an event in the main process: snapshot and clip on disk, stored, announced."""
