"""Restores behind the runbooks in docs/runbooks/ (SPEC §9): find the recovery point from a
stack's outputs, start the restore, wait with progress, print the next step.

`python -m ops.restore STORE --stack STACK [--dry-run] ...`; see `--help`.
"""
