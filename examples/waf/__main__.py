"""A regional WAF ACL for an ALB: AWS's managed rule groups, 2000 requests per IP per
5 minutes, two countries blocked, and its logs kept 30 days."""

import pulumi
import pulumi_aws as aws

from components.edge.waf import WebAcl, WebAclArgs

aws_provider = aws.Provider("aws", region="us-east-1")
acl = WebAcl(
    "example",
    WebAclArgs(
        priorities={
            "allow-list": 0,
            "rate-limit": 10,
            "geo-block": 20,
            "ip-reputation": 30,
            "anonymous-ip": 40,
            "common": 50,
            "known-bad-inputs": 60,
            "sql-injection": 70,
        },
        rate_limit=2000,
        geo_block_countries=["KP", "IR"],
        log_retention_days=30,
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider]),
)
pulumi.export("webAclArn", acl.arn)
