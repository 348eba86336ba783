"""The image CDN's signed URLs (issue 13, item 10), from the offline preview: the images
behaviour trusts only the environment's key group, the key pair is Pulumi's own, its
private half reaches only the API's secret, and the release carries the key pair id."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from components.edge.url_signing import KEY_BITS
from pulumi_offline import SECRET, OfflineRun, RecordedResource, offline_key_pair
from stacks.environment_data import CDN_PRIVATE_KEY_VARIABLE
from tests.support.preview import app_release, role_policy, statements_by_actions
from tests.support.stacks import run_stack

CDN_STACKS = ("dev", "prod")
PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
PUBLIC_KEY = "aws:cloudfront/publicKey:PublicKey"
KEY_GROUP = "aws:cloudfront/keyGroup:KeyGroup"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"


def signing_key(run: OfflineRun) -> RecordedResource:
    (key,) = run.of_type(PRIVATE_KEY)
    return key


@pytest.mark.parametrize("stack", CDN_STACKS)
def test_the_images_behaviour_trusts_only_the_environments_key_group(stack: str) -> None:
    run = run_stack(stack)
    key = signing_key(run)
    assert key.name == f"pingvas-{stack}-cdn-signing"
    assert (key.inputs["algorithm"], key.inputs["rsaBits"]) == ("RSA", KEY_BITS)
    (public_key,) = run.of_type(PUBLIC_KEY)
    (key_group,) = run.of_type(KEY_GROUP)
    assert key_group.inputs["items"] == [public_key.id]
    # CloudFront gets the tls key's public half: a 2048-bit RSA key in PEM.
    public_pem = offline_key_pair(key.name, KEY_BITS)["publicKeyPem"]
    assert public_key.inputs["encodedKey"] == public_pem
    loaded = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(loaded, rsa.RSAPublicKey)
    assert loaded.key_size == KEY_BITS

    (distribution,) = run.of_type(DISTRIBUTION)
    (images,) = distribution.inputs["orderedCacheBehaviors"]
    assert images["pathPattern"] == "/images/*"
    assert images["trustedKeyGroups"] == [key_group.id]
    # Everything else is the bucket policy's 403; no other behaviour trusts a signer.
    assert "trustedKeyGroups" not in distribution.inputs["defaultCacheBehavior"]


@pytest.mark.parametrize("stack", CDN_STACKS)
def test_the_private_key_reaches_only_the_apis_secret(stack: str) -> None:
    run = run_stack(stack)
    private_pem = offline_key_pair(signing_key(run).name, KEY_BITS)["privateKeyPem"]
    (secret,) = [
        s
        for s in run.of_type("aws:secretsmanager/secret:Secret")
        if s.inputs["name"] == f"pingvas-{stack}-cloudfront-private-key"
    ]
    (version,) = [
        v
        for v in run.of_type("aws:secretsmanager/secretVersion:SecretVersion")
        if v.inputs["secretId"] == secret.id
    ]
    assert version.inputs["secretString"] == SECRET  # a Pulumi secret
    # The PEM itself is in no recorded input and no output.
    everything = json.dumps([r.as_json() for r in run.resources]) + json.dumps(run.outputs)
    assert private_pem not in everything
    assert "PRIVATE KEY" not in everything

    # The app's secrets reach the API's pods alone (the chart's `<release>-app` Secret);
    # no pod role reads it directly, and the worker's role does not name it.
    arn = run.outputs["appSecretArns"][CDN_PRIVATE_KEY_VARIABLE]
    values = app_release(run).inputs["values"]
    assert values["secrets"]["appSecretArns"][CDN_PRIVATE_KEY_VARIABLE] == arn
    for account in ("pingvas-api", "pingvas-worker", "pingvas-migrations"):
        assert arn not in json.dumps(role_policy(run, account))


@pytest.mark.parametrize("stack", CDN_STACKS)
def test_the_release_carries_the_key_pair_and_the_distribution(stack: str) -> None:
    run = run_stack(stack)
    (public_key,) = run.of_type(PUBLIC_KEY)
    (distribution,) = run.of_type(DISTRIBUTION)
    config = app_release(run).inputs["values"]["config"]
    assert config["cloudfrontKeyPairId"] == public_key.id == run.outputs["cdnKeyPairId"]
    assert config["cloudfrontDistributionId"] == distribution.id
    assert run.outputs["cdnDistributionId"] == distribution.id


@pytest.mark.parametrize("stack", CDN_STACKS)
def test_only_the_api_may_invalidate_and_only_its_distribution(stack: str) -> None:
    run = run_stack(stack)
    (distribution,) = run.of_type(DISTRIBUTION)
    arn = f"arn:aws:cloudfront::123456789012:distribution/{distribution.id}"
    api = statements_by_actions(role_policy(run, "pingvas-api"))
    assert api[("cloudfront:CreateInvalidation",)] == arn
    for account in ("pingvas-worker", "pingvas-migrations"):
        assert "cloudfront:" not in json.dumps(role_policy(run, account))


def test_previews_have_no_signing_key_and_presign_s3() -> None:
    run = run_stack("pr-7")
    for token in (PRIVATE_KEY, PUBLIC_KEY, KEY_GROUP, DISTRIBUTION):
        assert run.of_type(token) == []
    assert CDN_PRIVATE_KEY_VARIABLE not in run.outputs["appSecretArns"]
    config = app_release(run).inputs["values"]["config"]
    assert (config["imageBaseUrl"], config["cloudfrontKeyPairId"]) == ("", "")
    assert "cloudfront:" not in json.dumps(role_policy(run, "pingvas-api"))


def test_the_offline_key_pair_is_the_same_in_every_preview() -> None:
    """Two previews of one program must agree, or `--diff` would show the key changing."""
    first = offline_key_pair("pingvas-dev-cdn-signing", KEY_BITS)
    offline_key_pair.cache_clear()
    assert offline_key_pair("pingvas-dev-cdn-signing", KEY_BITS) == first
    assert offline_key_pair("pingvas-prod-cdn-signing", KEY_BITS) != first
