"""Secrets and personal data in training text: API keys, passwords, private keys, e-mail, phone, card, IBAN and Social Security numbers.

``codes`` documents SEC001 to SEC007, ``validator`` runs the search, and ``lines`` derives the
tests on a record's raw line from each kind's prefilter in ``dsqa.redact.KINDS``.
"""

from __future__ import annotations

from .validator import DEFAULT_ALLOWED_DOMAINS, SensitiveValidator

__all__ = ["DEFAULT_ALLOWED_DOMAINS", "SensitiveValidator"]
