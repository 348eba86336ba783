"""The regional web ACL in front of the ALB (SPEC §6 layer 1).

Rules run in priority order: the allow-list (health checkers, CI smoke tests) first,
then the per-IP rate limit, geo blocking and AWS's managed rule groups. Any rule can be
put in count mode for a safe roll-out. Requests are logged with credentials redacted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.conventions import KEPT_LOGS_CLASS

RATE_LIMITED_BODY = "rate-limited"
# Managed rule groups (AWS vendor) by the name we give their rule.
MANAGED_RULE_GROUPS = {
    "ip-reputation": "AWSManagedRulesAmazonIpReputationList",
    "anonymous-ip": "AWSManagedRulesAnonymousIpList",
    "common": "AWSManagedRulesCommonRuleSet",
    "known-bad-inputs": "AWSManagedRulesKnownBadInputsRuleSet",
    "sql-injection": "AWSManagedRulesSQLiRuleSet",
}
REDACTED_HEADERS = ("authorization", "cookie")


@dataclass
class WebAclArgs:
    # Each rule's place in the evaluation order (lower runs first), by name: `allow-list`,
    # `rate-limit`, `geo-block` and the MANAGED_RULE_GROUPS.
    priorities: Mapping[str, int]
    rate_limit: int = 2000  # requests per IP per window (SPEC: 2000 / 5 min)
    rate_limit_window_seconds: int = 300
    geo_block_countries: list[str] = field(default_factory=list)
    anonymous_ip_list: bool = False
    allow_list_cidrs: list[str] = field(default_factory=list)
    # Rules that only count matches (roll-out), by name.
    count_only: list[str] = field(default_factory=list)
    log_retention_days: int = 30


class WebAcl(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: WebAclArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:edge:WebAcl", name, None, opts)
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self)

        rules = [self._rate_limit_rule()]
        if args.allow_list_cidrs:
            rules.append(self._allow_list_rule())
        if args.geo_block_countries:
            rules.append(self._geo_block_rule())
        rules += [
            self._managed_rule(rule_name, group)
            for rule_name, group in MANAGED_RULE_GROUPS.items()
            if rule_name != "anonymous-ip" or args.anonymous_ip_list
        ]
        acl = aws.wafv2.WebAcl(
            name,
            scope="REGIONAL",
            description="Pingvas API: allow-list, per-IP rate limit, geo block, managed rules",
            default_action=aws.wafv2.WebAclDefaultActionArgs(
                allow=aws.wafv2.WebAclDefaultActionAllowArgs()
            ),
            custom_response_bodies=[
                aws.wafv2.WebAclCustomResponseBodyArgs(
                    key=RATE_LIMITED_BODY,
                    content_type="APPLICATION_JSON",
                    content='{"detail": "Too many requests; slow down and retry later."}',
                )
            ],
            rules=rules,
            visibility_config=self._visibility(name),
            opts=child,
        )
        self.arn = acl.arn
        # WAF only logs to groups whose name starts with `aws-waf-logs-`.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"aws-waf-logs-{name}",
            retention_in_days=args.log_retention_days,
            log_group_class=KEPT_LOGS_CLASS,
            # Named: a class change must delete the old group before creating the new one.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        aws.wafv2.WebAclLoggingConfiguration(
            name,
            resource_arn=acl.arn,
            log_destination_configs=[log_group.arn],
            redacted_fields=[
                aws.wafv2.WebAclLoggingConfigurationRedactedFieldArgs(
                    single_header=aws.wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs(
                        name=header
                    )
                )
                for header in REDACTED_HEADERS
            ],
            opts=child,
        )
        self.register_outputs({"arn": self.arn})

    def _visibility(self, metric: str) -> aws.wafv2.WebAclVisibilityConfigArgs:
        return aws.wafv2.WebAclVisibilityConfigArgs(
            cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
        )

    def _rule(
        self,
        rule_name: str,
        statement: aws.wafv2.WebAclRuleStatementArgs,
        action: aws.wafv2.WebAclRuleActionArgs,
    ) -> aws.wafv2.WebAclRuleArgs:
        if rule_name in self._args.count_only:
            action = aws.wafv2.WebAclRuleActionArgs(count=aws.wafv2.WebAclRuleActionCountArgs())
        return aws.wafv2.WebAclRuleArgs(
            name=rule_name,
            priority=self._args.priorities[rule_name],
            statement=statement,
            action=action,
            visibility_config=aws.wafv2.WebAclRuleVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True,
                metric_name=f"{self._name}-{rule_name}",
                sampled_requests_enabled=True,
            ),
        )

    def _allow_list_rule(self) -> aws.wafv2.WebAclRuleArgs:
        ip_set = aws.wafv2.IpSet(
            f"{self._name}-allow-list",
            scope="REGIONAL",
            ip_address_version="IPV4",
            addresses=self._args.allow_list_cidrs,
            description="Health checkers and CI smoke tests: never rate limited",
            opts=pulumi.ResourceOptions(parent=self),
        )
        return self._rule(
            "allow-list",
            aws.wafv2.WebAclRuleStatementArgs(
                ip_set_reference_statement=aws.wafv2.WebAclRuleStatementIpSetReferenceStatementArgs(
                    arn=ip_set.arn
                )
            ),
            aws.wafv2.WebAclRuleActionArgs(allow=aws.wafv2.WebAclRuleActionAllowArgs()),
        )

    def _rate_limit_rule(self) -> aws.wafv2.WebAclRuleArgs:
        return self._rule(
            "rate-limit",
            aws.wafv2.WebAclRuleStatementArgs(
                rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                    limit=self._args.rate_limit,
                    evaluation_window_sec=self._args.rate_limit_window_seconds,
                    aggregate_key_type="IP",
                )
            ),
            aws.wafv2.WebAclRuleActionArgs(
                block=aws.wafv2.WebAclRuleActionBlockArgs(
                    custom_response=aws.wafv2.WebAclRuleActionBlockCustomResponseArgs(
                        response_code=429, custom_response_body_key=RATE_LIMITED_BODY
                    )
                )
            ),
        )

    def _geo_block_rule(self) -> aws.wafv2.WebAclRuleArgs:
        return self._rule(
            "geo-block",
            aws.wafv2.WebAclRuleStatementArgs(
                geo_match_statement=aws.wafv2.WebAclRuleStatementGeoMatchStatementArgs(
                    country_codes=self._args.geo_block_countries
                )
            ),
            aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
        )

    def _managed_rule(self, rule_name: str, group: str) -> aws.wafv2.WebAclRuleArgs:
        override = (
            aws.wafv2.WebAclRuleOverrideActionArgs(
                count=aws.wafv2.WebAclRuleOverrideActionCountArgs()
            )
            if rule_name in self._args.count_only
            else aws.wafv2.WebAclRuleOverrideActionArgs(
                none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()
            )
        )
        return aws.wafv2.WebAclRuleArgs(
            name=rule_name,
            priority=self._args.priorities[rule_name],
            statement=aws.wafv2.WebAclRuleStatementArgs(
                managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                    vendor_name="AWS", name=group
                )
            ),
            override_action=override,
            visibility_config=aws.wafv2.WebAclRuleVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True,
                metric_name=f"{self._name}-{rule_name}",
                sampled_requests_enabled=True,
            ),
        )
