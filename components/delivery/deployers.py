"""Scoped deployers (issue 12, guarantee 4): each environment stack deploys to the shared
cluster as its own IAM role, which can change only its own namespace.

The platform creates, per deploy scope (each long-lived environment, and `pr` for every
`pr-<N>`):

- an IAM role `pingvas-<platform>-deployer-<scope>`, assumable only by the principals
  named for that scope (GitHub's deploy role of the scope, the cluster admins);
- an EKS access entry for it in the group `pingvas:deployer:<scope>`, with
  `AmazonEKSEditPolicy` scoped to its namespace; the preview deployer instead has a
  username per pull request, `pingvas:preview:pr-<N>` (its trust demands the session name
  `pr-<N>` of the session's `pr` tag, components/delivery/preview_sessions.py), and gets
  its rights in its own namespace only, through RoleBindings its stack makes there
  (PREVIEW_ROLES), so pr-7 can read nothing of pr-8;
- what Edit does not give: the cluster-scoped objects and guards an environment stack
  makes (its Namespace, the chart's models PersistentVolume, its ResourceQuotas and
  LimitRange) and the custom resources of the
  chart (ExternalSecret, SecretStore, ScaledObject, ServiceMonitor) through one
  ClusterRole bound to every deployer group;
- a ValidatingAdmissionPolicy that holds every write of a deployer group to its own
  names: `<scope>` itself (or the `pr-<N>` of its username), namespace labels it cannot
  loosen, RoleBindings of a preview only to itself and PREVIEW_ROLES, persistent volumes
  only of the platform's read-only model store, claimed from its namespace.

IngressClasses and IngressClassParams are the platform's (stacks/edge.py): no deployer
may create, change or delete one (issue 22, item 6).

The priority classes are the platform's (one per profile, shared by every preview), and
a second admission policy lets an environment's pods use only its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import immutable
from components.conventions import ENVIRONMENT_LABEL, PREVIEW_LABEL, pod_security_labels
from components.iam import access_policy_arn, arn, partition, policy_document

DEPLOYER_GROUP_PREFIX = "pingvas:deployer:"
PREVIEW_SCOPE = "pr"
PREVIEW_NAMESPACES = "^pr-[0-9]+$"
# The preview deployer's Kubernetes username: EKS fills in the role session's name.
PREVIEW_USER_PREFIX = "pingvas:preview:"
PREVIEW_USERNAME = PREVIEW_USER_PREFIX + "{{SessionName}}"
RBAC_GROUP = "rbac.authorization.k8s.io"
EDIT_POLICY = "AmazonEKSEditPolicy"  # an EKS access policy
SCOPE_POLICY = "pingvas-deployer-scope"
PRIORITY_POLICY = "pingvas-environment-priorities"
EFS_DRIVER = "efs.csi.aws.com"

# What Edit lacks for an environment stack; (api group, resources, verbs).
_WRITE = ["get", "list", "watch", "create", "update", "patch", "delete"]
DEPLOYER_RULES: tuple[tuple[str, tuple[str, ...], list[str]], ...] = (
    ("", ("namespaces", "resourcequotas", "limitranges", "persistentvolumes"), _WRITE),
    ("external-secrets.io", ("externalsecrets", "secretstores"), _WRITE),
    ("keda.sh", ("scaledobjects", "triggerauthentications"), _WRITE),
    ("monitoring.coreos.com", ("servicemonitors",), _WRITE),
    ("scheduling.k8s.io", ("priorityclasses",), ["get", "list", "watch"]),
)
# Cluster-scoped: the admission policy checks their names; the rest, their namespace.
_CLUSTER_SCOPED = ("namespaces", "persistentvolumes")
# The ClusterRoles a preview binds its own user to, in its own namespace: Kubernetes'
# `edit`, and DEPLOYER_ROLE's namespaced part.
DEPLOYER_ROLE = "pingvas-deployer"
PREVIEW_ROLES = ("edit", DEPLOYER_ROLE)
# What the preview group holds cluster-wide besides DEPLOYER_ROLE: making those bindings
# (the admission policy keeps them to its own namespace and user).
PREVIEW_RULES: tuple[tuple[str, tuple[str, ...], list[str]], ...] = (
    (RBAC_GROUP, ("rolebindings",), _WRITE),
)

_SCOPE_VARIABLES = {
    "preview": f"'{DEPLOYER_GROUP_PREFIX}{PREVIEW_SCOPE}' in request.userInfo.groups",
    # What the request is about: the object, or for a DELETE the one it removes.
    "subject": "request.operation == 'DELETE' ? oldObject : object",
    "name": "variables.subject.metadata.name",
}


def in_scope(environment: str) -> str:
    """CEL: `environment` (a namespace name) belongs to the requester's scope: the
    `pr-<N>` of its username for the preview deployer, its own name for an
    environment's."""
    return (
        f"variables.preview ? ({environment}.matches('{PREVIEW_NAMESPACES}') && "
        f"request.userInfo.username == '{PREVIEW_USER_PREFIX}' + {environment})"
        f" : ('{DEPLOYER_GROUP_PREFIX}' + {environment}) in request.userInfo.groups"
    )


def _label(key: str, value: str) -> str:
    return (
        f"has(object.metadata.labels) && '{key}' in object.metadata.labels && "
        f"object.metadata.labels['{key}'] == {value}"
    )


def deployer_scope_rules(models_volume_handle: str) -> list[tuple[str, str]]:
    """The scope policy's (CEL, message) pairs, evaluated for a deployer group's writes
    to the resources of DEPLOYER_RULES."""
    resource = "request.resource.resource"
    writing = "request.operation != 'DELETE'"
    restricted = pod_security_labels("restricted")
    preview_label = f"has(object.metadata.labels) && '{PREVIEW_LABEL}' in object.metadata.labels"
    return [
        (
            f"{resource} in {list(_CLUSTER_SCOPED)} || ({in_scope('request.namespace')})",
            "a deployer writes only in its own namespace",
        ),
        (
            f"{resource} != 'namespaces' || ({in_scope('variables.name')})",
            "a deployer creates, changes or deletes only its own namespace (pr-<N> for previews)",
        ),
        (
            f"{resource} != 'namespaces' || !({writing}) || ("
            + " && ".join(f"({_label(key, repr(value))})" for key, value in restricted.items())
            + f" && ({_label(ENVIRONMENT_LABEL, 'variables.name')})"
            + f" && (variables.preview ? ({_label(PREVIEW_LABEL, repr('true'))})"
            + f" : !({preview_label})))",
            f"a namespace carries {ENVIRONMENT_LABEL}=<its name>, Pod Security 'restricted', "
            f"and {PREVIEW_LABEL}=true exactly when it is a preview",
        ),
        (
            f"{resource} != 'rolebindings' || !({writing}) || (variables.preview && "
            f"object.roleRef.apiGroup == '{RBAC_GROUP}' && object.roleRef.kind == 'ClusterRole' "
            f"&& object.roleRef.name in {list(PREVIEW_ROLES)} && has(object.subjects) && "
            "object.subjects.size() == 1 && object.subjects[0].kind == 'User' && "
            "object.subjects[0].name == request.userInfo.username)",
            f"a preview binds only its own user, to {', '.join(PREVIEW_ROLES)}",
        ),
        (
            f"{resource} != 'persistentvolumes' || ("
            "has(variables.subject.spec.claimRef) && "
            "has(variables.subject.spec.claimRef.namespace) && "
            f"({in_scope('variables.subject.spec.claimRef.namespace')}))",
            "a deployer makes, changes or deletes only volumes claimed from its namespace",
        ),
        (
            # An update is judged on the volume it changes too: else a preview could take
            # prod's models volume by rewriting its claimRef to its own namespace.
            f"{resource} != 'persistentvolumes' || request.operation != 'UPDATE' || ("
            "has(oldObject.spec.claimRef) && has(oldObject.spec.claimRef.namespace) && "
            f"({in_scope('oldObject.spec.claimRef.namespace')}) && "
            "object.metadata.name == oldObject.metadata.name && "
            "has(object.spec.claimRef) && has(object.spec.claimRef.name) && "
            "has(oldObject.spec.claimRef.name) && "
            "object.spec.claimRef.namespace == oldObject.spec.claimRef.namespace && "
            "object.spec.claimRef.name == oldObject.spec.claimRef.name)",
            "a deployer changes only its own volumes, and never their name or claim",
        ),
        (
            f"{resource} != 'persistentvolumes' || !({writing}) || ("
            f"has(object.spec.csi) && object.spec.csi.driver == '{EFS_DRIVER}' && "
            f"object.spec.csi.volumeHandle == '{models_volume_handle}' && "
            "has(object.spec.csi.readOnly) && object.spec.csi.readOnly == true)",
            "a persistent volume is the model store's read-only access point",
        ),
    ]


def priority_rule(classes: Mapping[str, str], preview_class: str) -> str:
    """CEL: a pod in an environment namespace uses no priority class, or its own."""
    own = json.dumps(dict(classes)).replace('"', "'")
    namespace = "namespaceObject.metadata.name"
    return (
        "!has(object.spec.priorityClassName) || object.spec.priorityClassName == ("
        f"{namespace}.matches('{PREVIEW_NAMESPACES}') ? '{preview_class}' : "
        f"({namespace} in {own} ? {own}[{namespace}] : ''))"
    )


def preview_cluster_rules() -> list[tuple[str, tuple[str, ...], list[str]]]:
    """The preview group's cluster-wide rules: DEPLOYER_RULES' cluster-scoped objects (its
    namespaced rights come from the RoleBindings in its namespace) and PREVIEW_RULES."""
    cluster_scoped = [
        (group, kinds, verbs)
        for group, kinds, verbs in DEPLOYER_RULES
        if set(kinds) & {*_CLUSTER_SCOPED, "priorityclasses"}
    ]
    return [
        (group, tuple(k for k in kinds if k in {*_CLUSTER_SCOPED, "priorityclasses"}), verbs)
        for group, kinds, verbs in cluster_scoped
    ] + list(PREVIEW_RULES)


@dataclass(frozen=True)
class DeployScope:
    key: str  # the environment, or `pr`
    # The namespaces of its access policy (none: its rights come from RoleBindings).
    namespaces: Sequence[str]
    priority_class: str
    priority_value: int
    # IAM principals (ARN patterns) that may assume the deployer role.
    assumed_by: Sequence[pulumi.Input[str]]
    # The role session name its trust demands, an IAM value (`pr-${aws:PrincipalTag/pr}`):
    # the Kubernetes user is then PREVIEW_USERNAME, one per pull request.
    session_name: str | None = None


@dataclass
class DeployersArgs:
    cluster_name: pulumi.Input[str]
    scopes: Sequence[DeployScope]
    # `<file system>::<access point>` of the model store, the one volume deployers make.
    models_volume_handle: pulumi.Input[str]
    account_id: pulumi.Input[str]


class Deployers(pulumi.ComponentResource):
    role_arns: pulumi.Output[dict[str, str]]  # scope → deployer role ARN

    def __init__(
        self, name: str, args: DeployersArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:cluster:Deployers", name, None, opts)
        self._partition = partition(self)
        on_cluster = pulumi.ResourceOptions(parent=self)
        classes = {scope.priority_class: scope.priority_value for scope in args.scopes}
        for class_name, value in classes.items():
            k8s.scheduling.v1.PriorityClass(
                f"{name}-{class_name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=class_name),
                value=value,
                global_default=False,
                description=f"Workloads of the environments whose profile is {class_name}",
                opts=pulumi.ResourceOptions.merge(
                    on_cluster, immutable.replaced_on(immutable.PRIORITY_CLASS)
                ),
            )
        groups = [f"{DEPLOYER_GROUP_PREFIX}{s.key}" for s in args.scopes if not s.session_name]
        _cluster_role(f"{name}-cluster-objects", DEPLOYER_ROLE, DEPLOYER_RULES, groups, on_cluster)
        previews = [f"{DEPLOYER_GROUP_PREFIX}{s.key}" for s in args.scopes if s.session_name]
        if previews:
            _cluster_role(
                f"{name}-preview-objects",
                "pingvas-preview-deployer",
                preview_cluster_rules(),
                previews,
                on_cluster,
                # RBAC lets a user bind a role it does not hold only with `bind` on it.
                bind=PREVIEW_ROLES,
            )
        self._scope_policy(name, args, on_cluster)
        self._priority_policy(name, args, on_cluster)
        roles = {scope.key: self._deployer(name, scope, args) for scope in args.scopes}
        self.role_arns = pulumi.Output.all(**{key: role.arn for key, role in roles.items()}).apply(
            dict
        )
        self.register_outputs({"role_arns": self.role_arns})

    def _scope_policy(
        self, name: str, args: DeployersArgs, on_cluster: pulumi.ResourceOptions
    ) -> None:
        admission = k8s.admissionregistration.v1
        rules = pulumi.Output.from_input(args.models_volume_handle).apply(deployer_scope_rules)
        _enforce(
            f"{name}-scope",
            SCOPE_POLICY,
            admission.ValidatingAdmissionPolicySpecArgs(
                failure_policy="Fail",
                match_constraints=admission.MatchResourcesArgs(
                    resource_rules=[
                        admission.NamedRuleWithOperationsArgs(
                            api_groups=[group],
                            api_versions=["*"],
                            resources=list(kinds),
                            operations=["CREATE", "UPDATE", "DELETE"],
                        )
                        for group, kinds, verbs in (*DEPLOYER_RULES, *PREVIEW_RULES)
                        if "create" in verbs
                    ]
                ),
                match_conditions=[
                    admission.MatchConditionArgs(
                        name="deployers",
                        expression="request.userInfo.groups.exists(g, g.startsWith('"
                        f"{DEPLOYER_GROUP_PREFIX}'))",
                    )
                ],
                variables=[
                    admission.VariableArgs(name=key, expression=expression)
                    for key, expression in _SCOPE_VARIABLES.items()
                ],
                validations=rules.apply(
                    lambda pairs: [
                        admission.ValidationArgs(expression=expression, message=message)
                        for expression, message in pairs
                    ]
                ),
            ),
            None,
            on_cluster,
        )

    def _priority_policy(
        self, name: str, args: DeployersArgs, on_cluster: pulumi.ResourceOptions
    ) -> None:
        admission = k8s.admissionregistration.v1
        own = {s.key: s.priority_class for s in args.scopes if s.key != PREVIEW_SCOPE}
        preview = next(s.priority_class for s in args.scopes if s.key == PREVIEW_SCOPE)
        _enforce(
            f"{name}-priorities",
            PRIORITY_POLICY,
            admission.ValidatingAdmissionPolicySpecArgs(
                failure_policy="Fail",
                match_constraints=admission.MatchResourcesArgs(
                    resource_rules=[
                        admission.NamedRuleWithOperationsArgs(
                            api_groups=[""],
                            api_versions=["v1"],
                            resources=["pods"],
                            operations=["CREATE"],
                        )
                    ]
                ),
                validations=[
                    admission.ValidationArgs(
                        expression=priority_rule(own, preview),
                        message="an environment's pods use only its own priority class",
                    )
                ],
            ),
            ENVIRONMENT_LABEL,
            on_cluster,
        )

    def _deployer(self, name: str, scope: DeployScope, args: DeployersArgs) -> aws.iam.Role:
        role_name = f"{name}-{scope.key}"
        child = pulumi.ResourceOptions(parent=self)
        session = (
            {"StringEquals": {"sts:RoleSessionName": scope.session_name}}
            if scope.session_name
            else {}
        )
        role = aws.iam.Role(
            role_name,
            name=role_name,
            description=f"Deploys the {scope.key} environment stacks into their namespaces",
            assume_role_policy=policy_document(
                [
                    {
                        # The account as principal, narrowed to the named roles: a trust
                        # policy naming a role that does not exist yet would be refused.
                        "Effect": "Allow",
                        "Principal": {
                            "AWS": arn(self._partition, "iam", "root", account=args.account_id)
                        },
                        "Action": "sts:AssumeRole",
                        "Condition": {
                            "ArnLike": {"aws:PrincipalArn": list(scope.assumed_by)},
                            **session,
                        },
                    }
                ]
            ),
            max_session_duration=3600,
            opts=child,
        )
        entry = aws.eks.AccessEntry(
            role_name,
            cluster_name=args.cluster_name,
            principal_arn=role.arn,
            type="STANDARD",
            kubernetes_groups=[f"{DEPLOYER_GROUP_PREFIX}{scope.key}"],
            user_name=PREVIEW_USERNAME if scope.session_name else None,
            opts=child,
        )
        if not scope.namespaces:
            return role
        aws.eks.AccessPolicyAssociation(
            role_name,
            cluster_name=args.cluster_name,
            principal_arn=role.arn,
            policy_arn=access_policy_arn(self._partition, EDIT_POLICY),
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(
                type="namespace", namespaces=list(scope.namespaces)
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[entry]),
        )
        return role


def _cluster_role(
    name: str,
    role_name: str,
    rules: Sequence[tuple[str, Sequence[str], list[str]]],
    groups: Sequence[str],
    on_cluster: pulumi.ResourceOptions,
    bind: Sequence[str] = (),
) -> None:
    """A ClusterRole of `rules` (and `bind` on the ClusterRoles `bind`) and its binding
    to `groups`."""
    rbac = k8s.rbac.v1
    granted = [
        rbac.PolicyRuleArgs(api_groups=[group], resources=list(kinds), verbs=verbs)
        for group, kinds, verbs in rules
    ]
    if bind:
        granted.append(
            rbac.PolicyRuleArgs(
                api_groups=[RBAC_GROUP],
                resources=["clusterroles"],
                verbs=["bind"],
                resource_names=list(bind),
            )
        )
    metadata = k8s.meta.v1.ObjectMetaArgs(name=role_name)
    rbac.ClusterRole(name, metadata=metadata, rules=granted, opts=on_cluster)
    rbac.ClusterRoleBinding(
        name,
        metadata=metadata,
        role_ref=rbac.RoleRefArgs(api_group=RBAC_GROUP, kind="ClusterRole", name=role_name),
        subjects=[rbac.SubjectArgs(api_group=RBAC_GROUP, kind="Group", name=g) for g in groups],
        opts=on_cluster,
    )


def _enforce(
    name: str,
    policy_name: str,
    spec: k8s.admissionregistration.v1.ValidatingAdmissionPolicySpecArgs,
    namespace_label: str | None,
    on_cluster: pulumi.ResourceOptions,
) -> None:
    """The policy and its Deny binding (to namespaces with `namespace_label`, or all)."""
    admission = k8s.admissionregistration.v1
    policy = admission.ValidatingAdmissionPolicy(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=policy_name),
        spec=spec,
        opts=on_cluster,
    )
    admission.ValidatingAdmissionPolicyBinding(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=policy_name),
        spec=admission.ValidatingAdmissionPolicyBindingSpecArgs(
            policy_name=policy_name,
            validation_actions=["Deny"],
            match_resources=(
                admission.MatchResourcesArgs(
                    namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                        match_expressions=[
                            k8s.meta.v1.LabelSelectorRequirementArgs(
                                key=namespace_label, operator="Exists"
                            )
                        ]
                    )
                )
                if namespace_label
                else None
            ),
        ),
        opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[policy])),
    )
