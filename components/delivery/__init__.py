"""Delivery: the GitHub Actions deploy roles and the in-cluster deployers."""
