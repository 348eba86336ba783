#!/usr/bin/env bash
# Writes the AWS CLI profile an environment stack's kubeconfig signs with
# (`aws eks get-token --profile pingvas-<stack>-cluster`,
# components/delivery/deployer_kubeconfig.py): the identity the stack reaches the cluster
# as comes from the job, not from the stack's state.
#
# usage: scripts/cluster_profile.sh STACK [ROLE_ARN]
#   with ROLE_ARN (cd-dev.yaml, cd-prod.yaml): the stack's deployer, assumed from the
#     job's credentials (AWS_ACCESS_KEY_ID and its peers), which its trust names;
#   without (drift-check.yaml): the job's own session, its read-only drift role, copied
#     into the profile, as a `--profile` turns the environment's credentials off.
set -euo pipefail
stack=$1
role_arn=${2:-}
profile="pingvas-$stack-cluster"
if [ -n "$role_arn" ]; then
  aws configure set "profile.$profile.role_arn" "$role_arn"
  aws configure set "profile.$profile.credential_source" Environment
else
  aws configure set aws_access_key_id "$AWS_ACCESS_KEY_ID" --profile "$profile"
  aws configure set aws_secret_access_key "$AWS_SECRET_ACCESS_KEY" --profile "$profile"
  aws configure set aws_session_token "$AWS_SESSION_TOKEN" --profile "$profile"
fi
