"""Operations: what an operator runs against live stacks, behind the runbooks
(docs/runbooks/)."""
