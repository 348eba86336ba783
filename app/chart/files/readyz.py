"""`helm test`: asks each API service's /readyz; fails unless every one answers 200.

Run as `python -c "$(cat readyz.py)" HOST:PORT ...` by the chart's test hook Pod
(templates/tests/readiness.yaml), with the API image's Python and no other dependency.
"""

import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 5


def status_of(address: str) -> str:
    try:
        with urllib.request.urlopen(
            f"http://{address}/readyz", timeout=TIMEOUT_SECONDS
        ) as response:
            return str(response.status)
    except urllib.error.HTTPError as error:
        return str(error.code)
    except OSError as error:  # refused, unresolvable, timed out
        return f"unreachable ({error})"


def main(addresses: list[str]) -> int:
    failed = 0
    for address in addresses:
        status = status_of(address)
        print(f"{address}/readyz: {status}", flush=True)
        failed += status != "200"
    return 1 if failed or not addresses else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
