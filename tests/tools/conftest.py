"""The tools run the committed stacks as tests/infra does, with its fixtures."""

from tests.infra.conftest import stack_with  # noqa: F401 (a fixture: importing registers it)
