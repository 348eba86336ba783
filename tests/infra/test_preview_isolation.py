"""Issue 22, item 3: one preview's credentials reach nothing of another's. A session of
the `pr` deploy role carries its pull request in a transitive `pr` tag
(components/delivery/preview_sessions.py); its cluster deployer is a username per pull
request with rights only through RoleBindings in its own namespace. Each attack from
pr-7 on pr-8 is evaluated against the preview's IAM documents, admission policy and RBAC
objects — denied — beside the same request on pr-7's own, allowed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.conventions import ENVIRONMENT_LABEL, PREVIEW_LABEL, pod_security_labels
from components.delivery.deployers import PREVIEW_USER_PREFIX, SCOPE_POLICY
from pulumi_offline import OfflineRun
from tests.support.admission import refusals, spec_of
from tests.support.deploy_roles import ACCOUNT, boundary, policies
from tests.support.iam import Request, allowed
from tests.support.stacks import run_stack

REGION = f"us-east-1:{ACCOUNT}"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
PR_ROLE = f"arn:aws:iam::{ACCOUNT}:role/pingvas-shared-deploy-pr"
DEPLOYER = f"arn:aws:iam::{ACCOUNT}:role/pingvas-shared-deployer-pr"


def of(pr: str) -> list[Request]:
    """What a preview's stack changes, for pull request `pr`: its secrets, bucket and
    objects, roles, Pod Identity associations, DNS records, and a new tagged resource."""
    stack = f"pr-{pr}"
    tags = {"stack": stack}
    secret = f"arn:aws:secretsmanager:{REGION}:secret:pingvas-{stack}-api-1a2b"
    bucket = f"arn:aws:s3:::pingvas-{stack}-images-1a2b"
    role = f"arn:aws:iam::{ACCOUNT}:role/pingvas-{stack}-tenancy-api"
    association = f"arn:aws:eks:{REGION}:podidentityassociation/pingvas-shared-eks/a-{pr}"
    records = "route53:ChangeResourceRecordSetsNormalizedRecordNames"
    return [
        Request("secretsmanager:PutSecretValue", secret, resource_tags=tags),
        Request("secretsmanager:DeleteSecret", secret, resource_tags=tags),
        Request("secretsmanager:CreateSecret", secret, request_tags=tags),
        Request("s3:GetObject", f"{bucket}/images/1.png"),
        Request("s3:DeleteObject", f"{bucket}/images/1.png"),
        Request("s3:DeleteBucket", bucket),
        Request("iam:UpdateAssumeRolePolicy", role),
        Request("iam:DeleteRole", role),
        Request("eks:DeletePodIdentityAssociation", association, resource_tags=tags),
        Request(
            "route53:ChangeResourceRecordSets",
            "arn:aws:route53:::hostedzone/Z1",
            context={records: [f"api.{stack}.pingvas.example.com"]},
        ),
    ]


@pytest.mark.parametrize("index", range(len(of("8"))))
def test_a_previews_session_changes_nothing_of_another(shared: OfflineRun, index: int) -> None:
    session = policies(shared, "pr", pr="7")
    assert not allowed(session, of("8")[index]), of("8")[index]
    assert not allowed(session, of("78")[index]), "pr-7* is not pr-7"
    assert allowed(session, of("7")[index]), "the control: its own"


def test_a_session_without_its_pull_request_does_nothing(shared: OfflineRun) -> None:
    untagged = policies(shared, "pr", pr=None)
    for request in of("7"):
        assert not allowed(untagged, request), request
    # ...but become a tagged one.
    assert allowed(untagged, Request("sts:AssumeRole", PR_ROLE))
    assert allowed(untagged, Request("sts:TagSession", PR_ROLE))


def tag_session(
    tags: dict[str, str],
    transitive: list[str],
    caller: dict[str, str] | None = None,
    caller_arn: str = PR_ROLE,
) -> Request:
    return Request(
        "sts:AssumeRole",
        PR_ROLE,
        request_tags=tags,
        principal=ROOT,
        principal_tags=caller or {},
        context={"aws:PrincipalArn": caller_arn, "sts:TransitiveTagKeys": transitive},
    )


def test_only_the_untagged_session_tags_itself_with_a_pull_request_number(
    shared: OfflineRun,
) -> None:
    trust = [
        json.loads(
            shared.one("aws:iam/role:Role", "pingvas-shared-deploy-pr").inputs["assumeRolePolicy"]
        )
    ]
    assert allowed(trust, tag_session({"pr": "7"}, ["pr"])), "the control"
    for attack in (
        tag_session({"pr": "8"}, ["pr"], caller={"pr": "7"}),  # pr-7 becoming pr-8
        tag_session({"pr": "7"}, []),  # not carried into the deployer
        tag_session({"pr": "*"}, ["pr"]),
        tag_session({"pr": "7*"}, ["pr"]),
        tag_session({"pr": "0"}, ["pr"]),
        tag_session({"pr": "1.5"}, ["pr"]),
        tag_session({"pr": "x"}, ["pr"]),
        tag_session({"pr": "7", "stack": "prod"}, ["pr"]),
        tag_session({}, []),
        tag_session({"pr": "7"}, ["pr"], caller_arn=f"arn:aws:iam::{ACCOUNT}:role/other"),
    ):
        assert not allowed(trust, attack), attack


def deployer_session(name: str, tags: dict[str, str]) -> Request:
    return Request(
        "sts:AssumeRole",
        DEPLOYER,
        principal=ROOT,
        principal_tags=tags,
        context={"aws:PrincipalArn": PR_ROLE, "sts:RoleSessionName": name},
    )


def test_the_cluster_deployer_session_is_named_for_the_pull_request(shared: OfflineRun) -> None:
    """Its name becomes the Kubernetes username `pingvas:preview:pr-<N>`."""
    role = shared.one("aws:iam/role:Role", "pingvas-shared-deployer-pr")
    trust = [json.loads(role.inputs["assumeRolePolicy"])]
    assert allowed(trust, deployer_session("pr-7", {"pr": "7"}))
    assert not allowed(trust, deployer_session("pr-8", {"pr": "7"}))
    assert not allowed(trust, deployer_session("EKSGetTokenAuth", {"pr": "7"}))
    assert not allowed(trust, deployer_session("pr-7", {}))
    entry = next(
        e
        for e in shared.of_type("aws:eks/accessEntry:AccessEntry")
        if e.inputs.get("kubernetesGroups") == ["pingvas:deployer:pr"]
    )
    assert entry.inputs["userName"] == f"{PREVIEW_USER_PREFIX}{{{{SessionName}}}}"


def test_roles_a_preview_makes_reach_only_their_own_namespaces_stack(shared: OfflineRun) -> None:
    ceiling = [boundary(shared, "pr")]
    pod = {"kubernetes-namespace": "pr-7"}
    for pr, admitted in (("7", True), ("8", False)):
        bucket = f"arn:aws:s3:::pingvas-pr-{pr}-images-1a2b/x.png"
        secret = f"arn:aws:secretsmanager:{REGION}:secret:pingvas-pr-{pr}-api-1a2b"
        for request in (
            Request("s3:GetObject", bucket, principal_tags=pod),
            Request("s3:PutObject", bucket, principal_tags=pod),
            Request(
                "secretsmanager:GetSecretValue",
                secret,
                resource_tags={"stack": f"pr-{pr}"},
                principal_tags=pod,
            ),
        ):
            assert allowed(ceiling, request) is admitted, request


# --- Kubernetes ----------------------------------------------------------------------


def binding(namespace: str, user: str, role: str = "edit", kind: str = "User") -> dict[str, Any]:
    return {
        "metadata": {"name": "deployer", "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": user}],
    }


PR7 = f"{PREVIEW_USER_PREFIX}pr-7"
PR8 = f"{PREVIEW_USER_PREFIX}pr-8"


def preview_namespace(name: str) -> dict[str, Any]:
    labels = {**pod_security_labels("restricted"), ENVIRONMENT_LABEL: name, PREVIEW_LABEL: "true"}
    return {"metadata": {"name": name, "labels": labels}}


# Writes into pr-8, each as made by `user` (the binding names its maker).
WRITES = {
    "namespaces": lambda user: preview_namespace("pr-8"),
    "resourcequotas": lambda user: {"metadata": {"name": "quota", "namespace": "pr-8"}},
    "rolebindings": lambda user: binding("pr-8", user),
    "externalsecrets": lambda user: {"metadata": {"name": "db", "namespace": "pr-8"}},
}


@pytest.mark.parametrize("resource", WRITES)
@pytest.mark.parametrize("operation", ["CREATE", "UPDATE", "DELETE"])
def test_pr_7_writes_nothing_of_pr_8(shared: OfflineRun, resource: str, operation: str) -> None:
    spec = spec_of(shared, SCOPE_POLICY)
    namespace = "" if resource == "namespaces" else "pr-8"
    for user, admitted in ((PR7, False), (PR8, True)):  # the control: pr-8's own deployer
        obj = WRITES[resource](user)
        found = refusals(
            spec,
            scope="pr",
            user=user,
            resource=resource,
            operation=operation,
            namespace=namespace,
            obj=None if operation == "DELETE" else obj,
            old=None if operation == "CREATE" else obj,
        )
        assert (found == []) is admitted, (user, found)


@pytest.mark.parametrize(
    "bound",
    [
        binding("pr-7", PR8),  # lending its namespace to pr-8
        binding("pr-7", PR7, role="cluster-admin"),
        binding("pr-7", PR7, role="admin"),
        binding("pr-7", "pingvas:deployer:pr", kind="Group"),  # to every preview
        binding("pr-7", "system:serviceaccount:pr-8:default"),
    ],
)
def test_a_preview_binds_only_its_own_user_to_its_roles(
    shared: OfflineRun, bound: dict[str, Any]
) -> None:
    spec = spec_of(shared, SCOPE_POLICY)
    assert refusals(
        spec, scope="pr", user=PR7, resource="rolebindings", obj=bound, namespace="pr-7"
    )


def test_the_previews_own_bindings_are_admitted_and_grant_nothing_elsewhere(
    shared: OfflineRun,
) -> None:
    """RBAC: the preview group holds no namespaced read cluster-wide (no EKS access
    policy either); its rights in a namespace are the RoleBindings there, which name
    only that namespace's user — so pr-7 cannot read pr-8's Secrets or pods."""
    spec = spec_of(shared, SCOPE_POLICY)
    rbac = "kubernetes:rbac.authorization.k8s.io/v1"
    role = shared.one(f"{rbac}:ClusterRole", "pingvas-shared-deployer-preview-objects")
    namespaced_reads = {
        resource
        for rule in role.inputs["rules"]
        for resource in rule["resources"]
        if set(rule["verbs"]) & {"get", "list", "watch"}
    }
    assert namespaced_reads <= {
        "namespaces",
        "persistentvolumes",
        "ingressclasses",
        "ingressclassparams",
        "priorityclasses",
        "rolebindings",
    }
    for pr in ("7", "8"):
        bindings = run_stack(f"pr-{pr}").of_type(f"{rbac}:RoleBinding")
        assert {b.inputs["roleRef"]["name"] for b in bindings} == {"edit", "pingvas-deployer"}
        for each in bindings:
            obj = {k: each.inputs[k] for k in ("metadata", "roleRef", "subjects")}
            assert obj["metadata"]["namespace"] == f"pr-{pr}"
            assert [s["name"] for s in obj["subjects"]] == [f"{PREVIEW_USER_PREFIX}pr-{pr}"]
            user = f"{PREVIEW_USER_PREFIX}pr-{pr}"
            assert (
                refusals(
                    spec,
                    scope="pr",
                    user=user,
                    resource="rolebindings",
                    obj=obj,
                    namespace=f"pr-{pr}",
                )
                == []
            )
