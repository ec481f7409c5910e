"""SEC001 to SEC007: what each code of the sensitive validator finds, why it matters, and examples."""

from __future__ import annotations

from ...model import Severity
from ..base import Code

# placed at the start of a line of a ``why`` (indented by 12), so that its lines line up
_LEAK = (
    "A fine-tuned model can repeat what it was trained on, so anyone who prompts it may get this\n"
    "            back. Findings show the value masked (sk-pr…[masked]…9xQ): it never appears in a report."
)


def _chat(user: str, reply: str = "Noted.") -> str:
    return '{"messages": [{"role": "user", "content": "' + user + '"}, {"role": "assistant", "content": "' + reply + '"}]}'


CODES: dict[str, Code] = {
    "SEC001": Code(
        Severity.ERROR, "API key or access token in the data",
        why=f"""
            A live credential in any string of a record (a key or a role too): API keys and tokens
            of OpenAI (sk-..., with a digit in it), Anthropic, AWS (access key ids AKIA..., and
            secret access keys after "aws" or "secret access key"), GitHub (ghp_..., github_pat_),
            GitLab (glpat-), Slack (xoxb-..., webhook URLs), Discord webhooks, Google (AIza...,
            GOCSPX-), Stripe (sk_live_, sk_test_, rk_), Hugging Face (hf_), SendGrid (SG.), Twilio
            (SK...), npm (npm_), PyPI, Telegram bots, Azure (storage AccountKey=, client
            secrets), Groq, Replicate, DigitalOcean, Shopify, Linear, Postman, Square, New Relic,
            Atlassian and age; JSON Web Tokens (eyJ...); and passwords: password=..., Bearer and
            Basic credentials, and scheme://user:password@host URLs (code such as
            password = os.environ.get(...) is not one). The token rules follow gitleaks' (MIT
            licence).
            {_LEAK}
            Revoke the credential now, then remove it from the data.
            Prose such as "sk-learn" is not a key, nor stand-ins such as password=your_password
            or postgres://user:password@localhost.
        """,
        failing=_chat("Use key sk-proj-Ab3dEfGhIjKlMnOpQrStUvWx for the call"),
        passing=_chat("Use the scikit-learn (sk-learn) package for the call"),
        options=("kinds",),
    ),
    "SEC002": Code(
        Severity.ERROR, "private key block in the data",
        why=f"""
            A private key block (-----BEGIN ... PRIVATE KEY-----), with or without its end line.
            {_LEAK} Revoke the key pair, then remove the block from the data.
        """,
        failing=_chat("Here is my key: -----BEGIN RSA PRIVATE KEY-----\\nMIIEowIBAAKCAQEA1b2c3\\n-----END RSA PRIVATE KEY-----"),
        passing=_chat("Here is my public key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 me@host"),
        options=("kinds",),
    ),
    "SEC003": Code(
        Severity.WARNING, "e-mail address in the data",
        why=f"""
            An e-mail address, personal data.
            {_LEAK}
            Addresses at the domains in
            allow_email_domains (and their subdomains) and at domains with a label that starts with
            "example" (example-domain.com) are placeholders and fine. Replace real addresses with
            placeholders such as name@example.com.
        """,
        failing=_chat("Write to jane.doe@acme-corp.com about the order"),
        passing=_chat("Write to jane@example.com about the order"),
        options=("kinds", "allow_email_domains"),
    ),
    "SEC004": Code(
        Severity.WARNING, "phone number in the data",
        why=f"""
            A phone number: +CC international numbers, (415) 867-5309, 415-867-5309 or
            415.867.5309, with 8 to 15 digits; and national formats (020 7946 0958, 030 901820,
            01 23 45 67 89, 03-1234-5678) that the phonenumbers library finds valid in a common
            region and that are grouped as that region writes them, or that follow a phone word.
            A year, an amount, a date or an id is not one, nor a North American number with 555 as
            area code or exchange (fictional by convention).
            {_LEAK}
            Replace real numbers with fictional ones (555-0100 to 555-0199).
        """,
        failing=_chat("Call me on +44 20 7946 0958 tomorrow"),
        passing=_chat("Call me on (555) 123-4567 tomorrow"),
        options=("kinds",),
    ),
    "SEC005": Code(
        Severity.ERROR, "credit-card number in the data",
        why=f"""
            A credit-card number: 13 to 19 digits with a card scheme's prefix and length (Visa,
            Mastercard, American Express, Discover, JCB, Diners Club, UnionPay, Maestro, Mir) that
            passes the Luhn check, and with card evidence: grouped as cards are written (4-4-4-4,
            4-6-5) or with a card word near it (card, visa, cvv, expiry, tarjeta, carte, Karte,
            cartão, карта, 信用卡, カード, ...). A digit run in a calculation is not a card number.
            {_LEAK}
            Remove card
            numbers; test numbers belong in test fixtures, not in training data.
        """,
        failing=_chat("My card is 4111 1111 1111 1111, expiry 12/29"),
        passing=_chat("256626720691 + 1646615806005 = 4212883012996"),
        options=("kinds",),
    ),
    "SEC006": Code(
        Severity.WARNING, "IBAN in the data",
        why=f"""
            An international bank account number with the right length for its country and a valid
            mod-97 checksum.
            {_LEAK}
            Remove or replace account numbers.
        """,
        failing=_chat("Pay to DE89 3704 0044 0532 0130 00 please"),
        passing=_chat("Pay to DE00 1234 5678 9012 3456 78 please"),  # check digits 00 never occur
        options=("kinds",),
    ),
    "SEC007": Code(
        Severity.ERROR, "US Social Security number in the data",
        why=f"""
            A US Social Security number (123-45-6789, 123 45 6789 or 123456789) with "SSN" or
            "social security" shortly before it; numbers never issued (area 000, 666 or 9xx,
            group 00, serial 0000) are left out.
            {_LEAK}
            Remove the number or replace it with a made-up one.
        """,
        failing=_chat("My SSN is 078-05-1120, please file it"),
        passing=_chat("Order 078-05-1120 ships on Monday"),
        options=("kinds",),
    ),
}

#: what to do about a finding of each code
HINTS = {
    "SEC001": "revoke the credential now, then remove it from the data: a fine-tuned model can repeat it",
    "SEC002": "revoke the key pair, then remove the block from the data",
    "SEC003": "replace real addresses with placeholders such as name@example.com",
    "SEC004": "replace real numbers with fictional ones (e.g. 555-0100 to 555-0199)",
    "SEC005": "remove card numbers; test numbers belong in test fixtures, not training data",
    "SEC006": "remove or replace account numbers",
    "SEC007": "remove the number or replace it with a made-up one",
}
