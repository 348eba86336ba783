"""The offline admission check (issue 23, item 8): every custom resource of every preview
against its vendored CRD (the structural schema made strict, so a field the API server would
prune fails, then the schema's CEL rules evaluated by cel-python: tests/support/crds.py); and
the platform's own ValidatingAdmissionPolicies, as the shared preview sends them, evaluated
against the objects every environment sends (the stacks' and the app chart's), with role
ARNs in the shape AWS gives them (`arn:aws:iam::<account>:role/<name>`)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.support.cel import evaluate
from tests.support.chart import stack_renders
from tests.support.crds import crd_errors
from tests.support.graph import crd_groups
from tests.support.preview import custom_resource
from tests.support.stacks import run_stack

STACKS = ["shared", "dev", "prod", "pr-7"]
ENVIRONMENTS = ["dev", "prod", "pr-7"]
POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"


@pytest.mark.parametrize("stack", STACKS)
def test_every_custom_resource_passes_its_crd_schema_and_cel_rules(stack: str) -> None:
    resources = [
        r
        for r in run_stack(stack).resources
        if r.type.startswith("kubernetes:")
        and r.type.split(":")[1].rsplit("/", 1)[0] in crd_groups()
    ]
    assert resources
    for resource in resources:
        assert crd_errors(custom_resource(resource)) == [], resource.name


def karpenter(kind: str) -> dict[str, Any]:
    """The GPU node class, or the GPU pool Karpenter tries first."""
    name = {"NodePool": "gpu-g4dn-xlarge-pool", "EC2NodeClass": "gpu"}[kind]
    (found,) = [
        r
        for r in run_stack("shared").resources
        if r.type.endswith(f":{kind}") and r.name == f"pingvas-shared-karpenter-{name}"
    ]
    return custom_resource(found)


def test_cel_rules_refuse_what_the_schema_admits() -> None:
    pool = karpenter("NodePool")
    pool["spec"]["template"]["metadata"]["labels"]["karpenter.sh/custom"] = "x"
    assert any('label domain "karpenter.sh" is restricted' in e for e in crd_errors(pool))
    node_class = karpenter("EC2NodeClass")
    node_class["spec"]["amiSelectorTerms"] = [{"alias": "ubuntu@latest"}]
    assert any("family is not supported" in e for e in crd_errors(node_class))


def test_a_field_the_api_server_would_prune_is_refused() -> None:
    pool = karpenter("NodePool")
    pool["spec"]["template"]["spec"]["taintz"] = []
    assert any("taintz" in e for e in crd_errors(pool))


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if not selector:
        return True
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        matched = {
            "In": key in labels and labels[key] in (values or []),
            "NotIn": labels.get(key) not in (values or []),
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not matched:
            return False
    return True


def plural(kind: str) -> str:
    return kind.lower() + ("es" if kind.endswith("s") else "s")


def environment_objects(stack: str) -> list[dict[str, Any]]:
    """What an environment sends into its namespace: the stack's objects, the chart's, and
    the pods of the chart's workloads."""
    objects = [
        copy.deepcopy(r.inputs)
        for r in run_stack(stack).resources
        if r.type.startswith("kubernetes:") and "kind" in r.inputs
    ]
    objects += copy.deepcopy(stack_renders()[stack].manifests)
    objects += [
        {
            "kind": "Pod",
            "metadata": m["spec"]["template"].get("metadata", {}),
            "spec": m["spec"]["template"]["spec"],
        }
        for m in list(objects)
        if m["kind"] in ("Deployment", "Job", "StatefulSet")
    ]
    return objects


def request_free_policies() -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """(name, spec, the binding's namespace selector) of the policies that judge an object by
    itself (the deployer scope judges requests: tests/infra/test_deployers.py)."""
    shared = run_stack("shared")
    selectors = {
        b.inputs["spec"]["policyName"]: (b.inputs["spec"].get("matchResources") or {}).get(
            "namespaceSelector"
        )
        for b in shared.of_type(BINDING)
    }
    return [
        (p.inputs["metadata"]["name"], p.inputs["spec"], selectors[p.inputs["metadata"]["name"]])
        for p in shared.of_type(POLICY)
        if "request." not in str(p.inputs["spec"])
    ]


def refusals(spec: dict[str, Any], namespace: dict[str, Any], subject: dict[str, Any]) -> list[str]:
    context = {"object": subject, "namespaceObject": namespace}
    variables: dict[str, Any] = {}
    for variable in spec.get("variables", []):
        variables[variable["name"]] = evaluate(variable["expression"], context, variables)
    return [
        v.get("message", v["expression"])
        for v in spec["validations"]
        if not evaluate(v["expression"], context, variables)
    ]


def judged(stack: str) -> list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]]:
    (namespace,) = run_stack(stack).of_type("kubernetes:core/v1:Namespace")
    namespace_object = copy.deepcopy(namespace.inputs)
    labels = namespace_object["metadata"]["labels"] | {"kubernetes.io/metadata.name": stack}
    cases = []
    for name, spec, selector in request_free_policies():
        if not selects(selector, labels):
            continue
        resources = {
            r for rule in spec["matchConstraints"]["resourceRules"] for r in rule["resources"]
        }
        cases += [
            (name, spec, namespace_object, subject)
            for subject in environment_objects(stack)
            if plural(subject["kind"]) in resources
        ]
    return cases


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_the_platforms_policies_admit_the_environments_own_objects(stack: str) -> None:
    cases = judged(stack)
    judged_by = {name for name, *_ in cases}
    assert {
        "pingvas-secret-stores",
        "pingvas-service-types",
        "pingvas-environment-priorities",
    } <= judged_by
    for name, spec, namespace, subject in cases:
        assert refusals(spec, namespace, subject) == [], (name, subject["metadata"].get("name"))


def test_a_store_with_another_environments_role_is_refused() -> None:
    """pr-7's SecretStore given prod's store role, as AWS names it."""
    (prod_store,) = run_stack("prod").of_type("kubernetes:external-secrets.io/v1:SecretStore")
    prod_role = prod_store.inputs["spec"]["provider"]["aws"]["role"]
    assert prod_role.startswith("arn:aws:iam::123456789012:role/pingvas-prod-tenancy-secret-store-")
    (case,) = [c for c in judged("pr-7") if c[0] == "pingvas-secret-stores"]
    _, spec, namespace, store = copy.deepcopy(case)
    store["spec"]["provider"]["aws"]["role"] = prod_role
    assert refusals(spec, namespace, store) != []


PRIORITIES = "pingvas-environment-priorities"
PRIORITY_CLASS = "kubernetes:scheduling.k8s.io/v1:PriorityClass"


def priority_cases(stack: str) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """(policy, namespace, pod) for every pod the environment sends (stack and chart)."""
    return [(spec, ns, pod) for name, spec, ns, pod in judged(stack) if name == PRIORITIES]


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_every_pods_priority_class_is_created_and_admitted(stack: str) -> None:
    created = {c.inputs["metadata"]["name"] for c in run_stack("shared").of_type(PRIORITY_CLASS)}
    assert created == {"dev-low", "prod-high", "ephemeral-low"}
    cases = priority_cases(stack)
    # A pod without a class (the stack's own in-cluster servers) runs at priority 0.
    named = {
        pod["spec"]["priorityClassName"]
        for _, _, pod in cases
        if "priorityClassName" in pod["spec"]
    }
    assert len(named) == 1, named
    assert named <= created, named
    for spec, namespace, pod in cases:
        assert refusals(spec, namespace, pod) == [], pod["metadata"].get("name")


@pytest.mark.parametrize(
    ("stack", "class_name"),
    [("dev", "prod-high"), ("prod", "dev-low"), ("pr-7", "dev-low"), ("dev", "dev-high")],
)
def test_a_pod_naming_another_class_is_refused(stack: str, class_name: str) -> None:
    spec, namespace, pod = copy.deepcopy(
        next(case for case in priority_cases(stack) if "priorityClassName" in case[2]["spec"])
    )
    pod["spec"]["priorityClassName"] = class_name
    assert refusals(spec, namespace, pod) == [
        "an environment's pods use only its own priority class"
    ]
