"""The model store: an encrypted EFS file system with a mount target per zone, a /models
access point, weekly backups, and the S3 bucket the models are uploaded to."""

import pulumi
import pulumi_aws as aws

from components.data.model_store import ModelStore, ModelStoreArgs

# Your VPC's private subnet in each zone, and the group that admits NFS from the nodes.
SUBNETS = {"us-east-1a": "subnet-0a1b2c3d4e5f60001", "us-east-1b": "subnet-0a1b2c3d4e5f60002"}
EFS_SECURITY_GROUP_ID = "sg-0a1b2c3d4e5f60004"

aws_provider = aws.Provider("aws", region="us-east-1")
store = ModelStore(
    "example",
    ModelStoreArgs(
        subnets=SUBNETS,
        security_group_id=EFS_SECURITY_GROUP_ID,
        models_bucket_name="pingvas-example-models-0123",
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider]),
)
pulumi.export("fileSystemId", store.file_system_id)
pulumi.export("accessPointId", store.access_point_id)
pulumi.export("modelsBucketName", store.models_bucket_name)
