#!/usr/bin/env bash
# Logs in to one review stack's own Pulumi backend and selects the stack with its own
# secrets provider (components/delivery/review_state.py): `s3://<bucket>/pr-<N>`, whose
# objects only the pr-<N> session may touch, and the pr state key under the encryption
# context pr=pr-<N>, the only one that session may use. Creates the stack if need be.
#
# usage: scripts/review_backend.sh STACK
# env:   STATE_BUCKET (the shared stack's reviewStateBucket), AWS_REGION, and the pr-<N>
#        session's credentials (scripts/review_session.sh)
set -euo pipefail
stack=$1
secrets="awskms://alias/pingvas-shared-deploy-pr-state?region=$AWS_REGION&context_pr=$stack"
pulumi login "s3://$STATE_BUCKET/$stack?region=$AWS_REGION"
pulumi stack select --create "$stack" --secrets-provider "$secrets"
# The stack file, which holds the provider and its data key, is not kept between runs;
# without it Pulumi would take the DIY backend's default, a passphrase
# (pulumi/pulumi#5650): set it again, from the state's own.
pulumi stack change-secrets-provider "$secrets"
