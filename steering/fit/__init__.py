"""Stage 3: steering directions from activations (contamination subspace, task manifold),
strength calibration, the steerer that ties them to a model, and vector files."""
