"""Benchmarks: xai_widgets against pytorch-grad-cam, torchcam and Captum, in one run."""
