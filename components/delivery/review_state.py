"""Per-PR Pulumi state for review stacks (issue 22, item 4): one self-managed backend per
pull request, so a preview's code reads and decrypts its own state alone.

Each `pr-<N>` stack logs in to `s3://<bucket>/pr-<N>` (Pulumi's DIY backend keeps all of
a login's objects — `.pulumi/meta.yaml`, `stacks/`, `history/`, `backups/`, `locks/` —
under the URL's path, gocloud's PrefixedBucket) and encrypts its secrets with the `pr`
state key under the encryption context `pr=pr-<N>` (gocloud.dev's awskms keeper reads
`context_<key>=<value>` URL parameters since v0.27). The tagged session of pr-<N>
(preview_sessions.py) may touch only objects under `pr-<N>/` and may use the key only
with its own context, so pr-7's code can neither read pr-8's state nor decrypt it.
"""

from __future__ import annotations

from typing import Any

from components.delivery.preview_sessions import OWN_PREVIEW, PR_SESSION_TAG, PR_TAG

# The encryption context key every review stack's secrets are bound to.
CONTEXT_KEY = PR_TAG
# What the state backend does with objects: read, write, and delete (locks, backups,
# `pulumi stack rm`, the teardown).
STATE_OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
# What a tagged session does with the state key, under its own context only.
CONTEXT_BOUND_USE = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*")


def backend_url(bucket: str, region: str, stack: str) -> str:
    """The `pulumi login` URL of one review stack's backend."""
    return f"s3://{bucket}/{stack}?region={region}"


def secrets_provider(key_alias: str, region: str, stack: str) -> str:
    """The review stack's `awskms://` secrets provider, bound to its own context."""
    return f"awskms://{key_alias}?region={region}&context_{CONTEXT_KEY}={stack}"


def state_bucket_statements(bucket_arn: str) -> list[dict[str, Any]]:
    """The `pr` role's access to the state bucket: a tagged session, its own prefix
    only; the untagged session (the trusted sweep) lists the prefixes, nothing else."""
    return [
        {
            "Sid": "OwnStateObjects",
            "Effect": "Allow",
            "Action": list(STATE_OBJECT_ACTIONS),
            "Resource": f"{bucket_arn}/{OWN_PREVIEW}/*",
        },
        {
            # `pr-7/*`, never `pr-7` (which would list pr-70's objects too).
            "Sid": "ListOwnStatePrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": f"{OWN_PREVIEW}/*"}},
        },
        {
            # `aws s3 ls s3://<bucket>/`: the pull requests that have a stack, for the
            # sweep, which then tags a session per pull request to read each one.
            "Sid": "ListReviewStacksUntagged",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {
                "Null": {PR_SESSION_TAG: "true", "s3:prefix": "true"},
                "StringEquals": {"s3:delimiter": "/"},
            },
        },
    ]


def context_bound_key_statements(role_arn: str) -> list[dict[str, Any]]:
    """Key policy statements: the `pr` role's sessions use the key only under the
    encryption context of their own `pr` tag; describing it needs no context."""
    return [
        {
            "Sid": "EachPreviewOnlyUnderItsOwnContext",
            "Effect": "Allow",
            "Principal": {"AWS": role_arn},
            "Action": list(CONTEXT_BOUND_USE),
            "Resource": "*",
            "Condition": {"StringEquals": {f"kms:EncryptionContext:{CONTEXT_KEY}": OWN_PREVIEW}},
        },
        {
            "Sid": "PreviewsDescribeTheKey",
            "Effect": "Allow",
            "Principal": {"AWS": role_arn},
            "Action": "kms:DescribeKey",
            "Resource": "*",
        },
    ]
