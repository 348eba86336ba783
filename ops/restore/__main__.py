"""`python -m ops.restore {aurora,redis,efs,s3-object} --stack STACK [--dry-run]`.

Exit status: 0 restored (or planned), 1 nothing to restore from or the restore failed,
2 bad arguments."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

import boto3

from ops.restore.aurora import restore_aurora
from ops.restore.common import RestoreError, Waiter, stack_outputs
from ops.restore.efs import restore_file_system
from ops.restore.redis import restore_redis
from ops.restore.s3_object import restore_object


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python -m ops.restore", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stack", required=True, help="the stack whose store to restore")
    common.add_argument(
        "--outputs", type=Path, help="the stack's outputs as JSON (default: the Pulumi CLI's)"
    )
    common.add_argument("--region", default="us-east-1")
    common.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    stores = cli.add_subparsers(dest="store", required=True)
    aurora = stores.add_parser("aurora", parents=[common], help="point-in-time restore")
    aurora.add_argument(
        "--to-time",
        type=lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC),
        help="UTC, e.g. 2026-12-01T09:30 (default: the latest restorable time)",
    )
    aurora.add_argument(
        "--from-snapshot", action="store_true", help="the newest snapshot (cluster gone)"
    )
    stores.add_parser("redis", parents=[common], help="newest snapshot into a new group")
    efs = stores.add_parser("efs", parents=[common], help="newest AWS Backup recovery point")
    efs.add_argument("--role-arn", required=True, help="a role AWS Backup may restore with")
    s3 = stores.add_parser("s3-object", parents=[common], help="an object's previous version")
    s3.add_argument("key", help="the object's key in the images bucket")
    return cli


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out = sys.stdout
    waiter = Waiter(out=out)
    session = boto3.Session(region_name=args.region)
    try:
        outputs = stack_outputs(args.stack, args.outputs)
        if args.store == "aurora":
            restore_aurora(
                session.client("rds"),
                outputs,
                out=out,
                waiter=waiter,
                to_time=args.to_time,
                from_snapshot=args.from_snapshot,
                dry_run=args.dry_run,
            )
        elif args.store == "redis":
            restore_redis(
                session.client("elasticache"), outputs, out=out, waiter=waiter, dry_run=args.dry_run
            )
        elif args.store == "efs":
            account = session.client("sts").get_caller_identity()["Account"]
            restore_file_system(
                session.client("backup"),
                outputs,
                account_id=account,
                region=args.region,
                role_arn=args.role_arn,
                out=out,
                waiter=waiter,
                dry_run=args.dry_run,
            )
        else:
            restore_object(session.client("s3"), outputs, args.key, out=out, dry_run=args.dry_run)
    except RestoreError as error:
        print(f"restore: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
