"""Each ledger entry kind's key is spelled once, in app/store/ledger.py: a second spelling
that drifted would let a replay (a webhook delivered again, a second refund) through."""

from __future__ import annotations

import ast
import re
import uuid
from pathlib import Path

from app.store import ledger

APP = Path(__file__).resolve().parents[2] / "app"
LEDGER = APP / "store" / "ledger.py"
# The prefix of every key the ledger holds, as the string it starts with.
KEY_TEXT = re.compile(r"\b(?:debit|refund|order|invoice|signup)(?:-refund)?:")


def string_pieces(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, text) of every string constant, f-string pieces included; docstrings left
    out (they may name a key to explain it)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_no_module_but_the_ledger_spells_a_ledger_key():
    spelled = [
        f"{path.relative_to(APP.parent)}:{line}: {text!r}"
        for path in sorted(APP.rglob("*.py"))
        # Migrations are history: their SQL functions write the debit and signup keys.
        if "migrations" not in path.parts and path != LEDGER
        for line, text in string_pieces(ast.parse(path.read_text(), str(path)))
        if KEY_TEXT.search(text)
    ]
    assert spelled == [], "use the key functions of app/store/ledger.py"


def test_the_ledger_spells_each_key_once():
    pieces = [text for _, text in string_pieces(ast.parse(LEDGER.read_text()))]
    prefixes = [match.group() for text in pieces for match in KEY_TEXT.finditer(text)]
    assert sorted(prefixes) == sorted(set(prefixes))


def test_the_keys_keep_the_spelling_of_the_rows_already_written():
    job_id, payment_id = uuid.uuid4(), "9001"
    assert ledger.refund_key(job_id) == f"refund:{job_id}"
    assert ledger.order_key(payment_id) == "order:9001"
    assert ledger.invoice_key(payment_id) == "invoice:9001"
    # A payment's later entries (refunds, corrections) carry their number.
    assert ledger.order_key(payment_id, 2) == "order:9001:2"
    assert ledger.order_refund_key(payment_id, 1) == "order-refund:9001:1"
    assert ledger.invoice_refund_key(payment_id, 3) == "invoice-refund:9001:3"
