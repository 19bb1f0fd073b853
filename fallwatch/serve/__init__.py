"""The main process beside the web app: composition root, cameras, worker supervisor,
live hub, event recorder, media, notice bus, users and sessions."""
