"""ECR repositories for the images CI builds (SPEC §5): scanned on push, tags immutable
(an image is its commit SHA, forever), old images expired by a lifecycle policy."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class RegistryArgs:
    # Repository name for each image, e.g. {"api": "pingvas-shared-api"}.
    repositories: dict[str, str]
    keep_images: int = 50
    untagged_expire_days: int = 7
    # ECR's AWS-managed KMS key when None.
    kms_key_arn: pulumi.Input[str] | None = None


def lifecycle_policy(keep_images: int, untagged_expire_days: int) -> str:
    """Untagged layers go first; of the rest, the newest `keep_images` stay."""
    rules: Sequence[dict[str, object]] = [
        {
            "rulePriority": 1,
            "description": f"untagged images after {untagged_expire_days} days",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": untagged_expire_days,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": f"keep the newest {keep_images} images",
            "selection": {
                "tagStatus": "any",
                "countType": "imageCountMoreThan",
                "countNumber": keep_images,
            },
            "action": {"type": "expire"},
        },
    ]
    return json.dumps({"rules": rules})


class Registry(pulumi.ComponentResource):
    repository_urls: dict[str, pulumi.Output[str]]
    repository_arns: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:registry:Registry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        policy = lifecycle_policy(args.keep_images, args.untagged_expire_days)
        self.repository_urls = {}
        self.repository_arns = {}
        for image, repository_name in args.repositories.items():
            repository = aws.ecr.Repository(
                f"{name}-{image}",
                name=repository_name,
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                    scan_on_push=True
                ),
                encryption_configurations=[
                    aws.ecr.RepositoryEncryptionConfigurationArgs(
                        encryption_type="AES256" if args.kms_key_arn is None else "KMS",
                        kms_key=args.kms_key_arn,
                    )
                ],
                opts=child,
            )
            aws.ecr.LifecyclePolicy(
                f"{name}-{image}", repository=repository.name, policy=policy, opts=child
            )
            self.repository_urls[image] = repository.repository_url
            self.repository_arns[image] = repository.arn
        self.register_outputs(
            {"repository_urls": self.repository_urls, "repository_arns": self.repository_arns}
        )
