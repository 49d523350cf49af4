"""Stage 1-2 building blocks: load a model, find its layers, hook them, collect activations,
generate (steered or not)."""
