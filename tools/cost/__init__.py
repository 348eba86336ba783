"""Monthly cost estimates of stacks from their offline preview (`python -m tools.cost`)."""
