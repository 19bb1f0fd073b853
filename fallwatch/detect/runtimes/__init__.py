"""Model runtimes: tensors in, tensors out. Decoding lives in `fallwatch.detect.decoders`."""
