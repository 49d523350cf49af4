"""The experiment around the library: config validation and defaults (from the schema), input
files, typed settings, a stage's process setup, and each stage's code inputs."""
