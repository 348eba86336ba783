"""The policy pack: `pulumi preview --policy-pack policy` (PolicyPack starts a server)."""

import sys
from pathlib import Path

# Pulumi runs this directory as a script; make the repository's packages importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, Policy, PolicyPack

from policy.rules import POLICIES, STACK_POLICIES

policies: list[Policy] = [*POLICIES, *STACK_POLICIES]
PolicyPack(name="pingvas", enforcement_level=EnforcementLevel.MANDATORY, policies=policies)
