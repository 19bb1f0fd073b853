"""Model decoders: raw output tensors to `Poses`."""
