"""Monthly cost estimates of stacks from their offline preview (`python -m infra.cost`)."""
