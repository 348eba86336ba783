"""Per-PR isolation of the one `pr` deploy role (issue 22, item 3).

GitHub's OIDC subject carries no pull-request number, so the number comes from the
trusted part of the review workflow (.github/workflows/review-stack.yaml, which runs from
the default branch): its untagged OIDC session may do nothing but assume the `pr` role
again with a transitive session tag `pr=<N>`. Every permission of the role names
`pr-${aws:PrincipalTag/pr}` (resource names and `stack` tags), so a session of pr-7
reaches nothing of pr-8; the tag is transitive, so the cluster deployer it chains into
carries it too, and that deployer's trust demands the session name `pr-<N>`, which its
EKS access entry turns into a Kubernetes username per pull request
(components/delivery/deployers.py).
"""

from __future__ import annotations

from typing import Any

PR_TAG = "pr"
PR_SESSION_TAG = f"aws:PrincipalTag/{PR_TAG}"
# The one stack a tagged session owns, as an IAM policy variable.
OWN_PREVIEW = "pr-${" + PR_SESSION_TAG + "}"
# What the untagged session may do: become a tagged one.
SESSION_SETUP = ("sts:AssumeRole", "sts:TagSession", "sts:GetCallerIdentity")
# ...and, for the trusted sweep, list which pull requests have a state prefix: only where
# an Allow grants it (review_state.py: the state bucket's top level, no object).
UNTAGGED_LISTING = ("s3:ListBucket",)
# A tag value that is not a plain positive number (IAM has no regex: a number check and
# the characters IAM patterns or ARNs would read).
NOT_A_NUMBER = ("*.*", "0*", "*${*}*", "*${?}*", "*/*", "*:*")


def tag_session_trust(root: str, role_arn: str) -> dict[str, Any]:
    """The role's own untagged session, and only it, re-assumes the role with `pr=<N>`
    as its one, transitive tag."""
    request_tag = f"aws:RequestTag/{PR_TAG}"
    return {
        "Sid": "TagTheSessionWithItsPullRequest",
        "Effect": "Allow",
        "Principal": {"AWS": root},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {
            "ArnEquals": {"aws:PrincipalArn": role_arn},
            "Null": {PR_SESSION_TAG: "true", request_tag: "false"},
            "NumericGreaterThan": {request_tag: "0"},
            "StringNotLike": {request_tag: list(NOT_A_NUMBER)},
            "ForAllValues:StringEquals": {
                "aws:TagKeys": [PR_TAG],
                "sts:TransitiveTagKeys": [PR_TAG],
            },
            "ForAnyValue:StringEquals": {"sts:TransitiveTagKeys": [PR_TAG]},
        },
    }


def session_statements(role_arn: str) -> list[dict[str, Any]]:
    """A session without the tag does nothing but tag itself (and list what an Allow
    lets it list)."""
    return [
        {
            "Sid": "NothingWithoutAPullRequestTag",
            "Effect": "Deny",
            "NotAction": [*SESSION_SETUP, *UNTAGGED_LISTING],
            "Resource": "*",
            "Condition": {"Null": {PR_SESSION_TAG: "true"}},
        },
        {
            "Sid": "TagOwnSession",
            "Effect": "Allow",
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Resource": role_arn,
        },
    ]
