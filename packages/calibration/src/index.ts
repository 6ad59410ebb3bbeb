// The public API of @onnx-audit/calibration.
