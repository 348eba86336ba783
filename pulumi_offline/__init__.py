"""Runs a Pulumi program under Pulumi's mock runtime: no cloud, no CLI.

Its own package because it leans on Pulumi SDK internals (`internals.py`): pyproject.toml
pins the SDK to the release they were checked against, and the program `pulumi up` runs
(`stacks/__main__.py` and what it imports) never imports this package.
"""

from pulumi_offline.computed import ACCOUNT_ID, fake_secret, mock_id
from pulumi_offline.key_pair import offline_key_pair
from pulumi_offline.records import SECRET, OfflineRun, RecordedResource
from pulumi_offline.runtime import ORGANIZATION, OfflineMocks, run_offline

__all__ = [
    "ACCOUNT_ID",
    "ORGANIZATION",
    "SECRET",
    "OfflineMocks",
    "OfflineRun",
    "RecordedResource",
    "fake_secret",
    "mock_id",
    "offline_key_pair",
    "run_offline",
]
