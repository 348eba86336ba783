#!/usr/bin/env bash
# Puts a review stack's AWS session in place (.github/workflows/review-stack.yaml):
# writes the pr-<N> session's credentials as KEY=value lines to FILE ($GITHUB_ENV for the
# job's later steps), masked in the log, and the AWS CLI profile the preview's kubeconfig
# signs with (components/delivery/deployer_kubeconfig.py): the cluster deployer, assumed
# from that session with the session name pr-<N> its trust demands.
#
# usage: scripts/review_session.sh FILE STACK
# env:   SESSION (the sts assume-role Credentials JSON), or SEALED and HANDOFF_KEY (that
#        JSON as the session job sealed it); DEPLOYER (the preview deployer role's ARN)
set -euo pipefail
file=$1
stack=$2
if [ -z "${SESSION:-}" ]; then
  SESSION=$(printf '%s' "$SEALED" | openssl enc -d -aes-256-cbc -pbkdf2 -a -A -pass env:HANDOFF_KEY)
fi
for key in AccessKeyId SecretAccessKey SessionToken; do
  value=$(printf '%s' "$SESSION" | python3 -c "import json, sys; print(json.load(sys.stdin)['$key'])")
  echo "::add-mask::$value"
  case $key in
    AccessKeyId) echo "AWS_ACCESS_KEY_ID=$value" >> "$file" ;;
    SecretAccessKey) echo "AWS_SECRET_ACCESS_KEY=$value" >> "$file" ;;
    SessionToken) echo "AWS_SESSION_TOKEN=$value" >> "$file" ;;
  esac
done
profile=pingvas-preview-deployer
aws configure set "profile.$profile.role_arn" "$DEPLOYER"
aws configure set "profile.$profile.role_session_name" "$stack"
aws configure set "profile.$profile.credential_source" Environment
