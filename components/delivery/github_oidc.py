"""Who GitHub Actions is, as AWS sees it: the OIDC subject a deploy role trusts.

The repository's subject template (docs/delivery.md's setup script sets it with
`gh api repos/OWNER/NAME/actions/oidc/customization/sub`) includes `repo`, `context` and
`job_workflow_ref`, so a subject names the workflow file and the ref it ran from:
`repo:OWNER/NAME:environment:production:job_workflow_ref:OWNER/NAME/.github/workflows/
cd-prod.yaml@refs/tags/v1.4.2`. A pull request's own copy of a workflow runs from
`refs/pull/<N>/merge`, so pinning the ref keeps PR-edited workflows out. Repositories
created since 15 July 2026 receive immutable ids in `repo` (`repo:OWNER@<id>/NAME@<id>:`,
https://github.blog/changelog/2026-04-23-immutable-subject-claims-for-github-actions-oidc-tokens/):
every trust accepts both forms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

GITHUB_ISSUER = "token.actions.githubusercontent.com"
STS_AUDIENCE = "sts.amazonaws.com"
# The custom subject template, in the order GitHub joins the claims.
SUBJECT_CLAIM_KEYS = ("repo", "context", "job_workflow_ref")
DEFAULT_BRANCH = "refs/heads/main"


@dataclass(frozen=True)
class TrustedWorkflow:
    """A job GitHub may hand a role's token to: its `context` (`environment:<name>`, or
    `ref:<ref>` / `pull_request` for a job outside an environment), the workflow file
    under .github/workflows, and the ref that file must have run from."""

    context: str
    workflow: str
    ref: str = DEFAULT_BRANCH

    @property
    def environment(self) -> str | None:
        kind, _, name = self.context.partition(":")
        return name if kind == "environment" else None


def subjects(repository: str, trusted: Sequence[TrustedWorkflow]) -> list[str]:
    """The `sub` patterns of `trusted` jobs of `repository` (owner/name), in both forms."""
    owner, name = repository.split("/")
    return [
        f"repo:{form}:{job.context}:job_workflow_ref:"
        f"{repository}/.github/workflows/{job.workflow}@{job.ref}"
        for job in trusted
        for form in (repository, f"{owner}@*/{name}@*")
    ]


def web_identity_statement(
    provider_arn: str, repository: str, trusted: Sequence[TrustedWorkflow]
) -> dict[str, Any]:
    """Only tokens GitHub issued for `trusted` jobs of `repository`, for STS."""
    return {
        "Sid": "GitHubActionsTrustedWorkflows",
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {f"{GITHUB_ISSUER}:aud": STS_AUDIENCE},
            "StringLike": {f"{GITHUB_ISSUER}:sub": subjects(repository, trusted)},
        },
    }
