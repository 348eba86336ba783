"""The offline tools: they run the program under the mock runtime or read what it builds, and
never deploy. Preview and diff (`python -m tools.preview`), timing, the CrossGuard check
(`tools.policy_check`), the IAM lint (`tools.iam_lint`), the cost estimator (`tools.cost`) and
the generators of committed files (`tools.generate`)."""
