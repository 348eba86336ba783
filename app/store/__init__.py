"""Every write to the jobs and the credit ledger: the routes, the payment service and the
worker call these instead of writing SQL of their own (``jobs``: a job's life from
creation to its final state; ``ledger``: balances, entries and each entry kind's key)."""
