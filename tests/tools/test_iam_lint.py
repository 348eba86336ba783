"""parliament over every IAM document of the four stacks (issue 12): nothing at MEDIUM or
above outside policy/iam_accepted_findings.yaml, and the lint really catches."""

from __future__ import annotations

import json

import pytest

from pulumi_offline import OfflineRun, RecordedResource
from tests.support.stacks import run_stack
from tools.iam_lint import AcceptedFinding, Finding, documents, failing, findings, load_accepted

STACKS = ("shared", "dev", "prod", "pr-7")


@pytest.mark.parametrize("stack", STACKS)
def test_no_iam_finding_at_medium_or_above_outside_the_accepted_file(stack: str) -> None:
    assert [str(f) for f in failing(run_stack(stack), load_accepted())] == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_kind_of_iam_document_is_linted(stack: str) -> None:
    kinds = {(d.type, d.key) for d in documents(run_stack(stack))}
    assert ("aws:iam/role:Role", "assumeRolePolicy") in kinds
    assert ("aws:iam/rolePolicy:RolePolicy", "policy") in kinds
    assert ("aws:s3/bucketPolicy:BucketPolicy", "policy") in kinds  # resource policies too


def test_every_accepted_finding_is_still_needed() -> None:
    """An entry that covers nothing is stale: remove it."""
    everything = [f for stack in STACKS for f in findings(run_stack(stack))]
    for entry in load_accepted():
        assert any(entry.covers(f) for f in everything), entry


def single_document_run(document: dict[str, object], key: str = "policy") -> OfflineRun:
    resource = RecordedResource(
        urn="urn:pulumi:t::pingvas::aws:iam/rolePolicy:RolePolicy::r",
        type="aws:iam/rolePolicy:RolePolicy",
        name="r",
        id="r-1",
        parent=None,
        provider=None,
        inputs={key: json.dumps(document)},
    )
    return OfflineRun("pingvas", "t", [resource], {})


@pytest.mark.parametrize(
    ("statement", "issue"),
    [
        ({"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "*"}, "UNKNOWN_ACTION"),
        (
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket"},
            "RESOURCE_MISMATCH",
        ),
        (
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
                "Condition": {"StringEqualz": {"aws:SourceAccount": "1"}},
            },
            "UNKNOWN_OPERATOR",
        ),
    ],
)
def test_the_lint_catches_what_it_exists_for(statement: dict[str, object], issue: str) -> None:
    run = single_document_run({"Version": "2012-10-17", "Statement": [statement]})
    assert issue in {f.issue for f in failing(run, [])}


def test_an_accepted_entry_covers_only_its_narrow_finding() -> None:
    finding = Finding("r", "policy", "RESOURCE_MISMATCH", "MEDIUM", '"action": "s3:GetObject"')
    entry = AcceptedFinding("r", "RESOURCE_MISMATCH", '"action": "s3:GetObject"', "because x y z w")
    assert entry.covers(finding)
    assert not entry.covers(Finding("r", "policy", "RESOURCE_MISMATCH", "MEDIUM", "s3:PutObject"))
    assert not entry.covers(
        Finding("other", "policy", "RESOURCE_MISMATCH", "MEDIUM", finding.detail)
    )


def test_an_accepted_action_set_does_not_cover_an_action_added_to_it() -> None:
    entry = AcceptedFinding(
        "r", "PERMISSIONS_MANAGEMENT_ACTIONS", "s3:putbucketpolicy s3:putbucketacl", "a b c d e"
    )

    def finding(*actions: str) -> Finding:
        detail = json.dumps({"actions": list(actions)})
        return Finding("r", "policy", "PERMISSIONS_MANAGEMENT_ACTIONS", "MEDIUM", detail)

    assert entry.covers(finding("s3:putbucketacl", "s3:putbucketpolicy"))
    assert not entry.covers(finding("s3:putbucketpolicy", "s3:putobjectacl"))
