"""Which errors mean PostgreSQL or S3 is out of reach (the worker waits them out, keeping
the job) rather than a failure of the job (left pending for reclaim)."""

from __future__ import annotations

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

S3_TRANSIENT_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling"}
)


def is_unavailable(error: BaseException) -> bool:
    """PostgreSQL or S3 out of reach (or refusing for now): not the job's failure."""
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, BotoConnectionError | HTTPClientError):
        return True
    if isinstance(error, ClientError):
        response = error.response
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        return status >= 500 or response.get("Error", {}).get("Code") in S3_TRANSIENT_CODES
    return False
