"""One planted, made-up value of every kind in ``dsqa.redact.KINDS``, in the text people write it in."""

from __future__ import annotations

_B62 = "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6kL9nP2rS5uX8zA1cD4fG7iJ0lM3oR6qT9wV2xY5"
_HEX = "9f3a6c1e8b4d7f2a5c9e1b6d3f8a4c7e2b5d9f1a6c3e8b4d7f2a5c9e1b6d3f8a"
_B64 = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ3vT8kLp2Nq+4Hs6Bd1Gm9Rx5Uc0Ye7Wf3Ta2Kj8Lm4Pn6Qs1Vb9Xd5Zh0Ai"


def _b(n: int, offset: int = 0) -> str:
    return (_B62 * 4)[offset:offset + n]


#: kind -> (the text, the secret in it as it must never appear in a report)
SAMPLES: dict[str, tuple[str, str]] = {
    "private_key": ("key: -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1b2c3\n-----END RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEA1b2c3"),
    "anthropic_key": ("set sk-ant-api03-" + _b(60) + "AA now", "sk-ant-api03-" + _b(60)),
    "openai_key": ("use sk-proj-" + _b(40, 3) + " here", "sk-proj-" + _b(40, 3)),
    "aws_access_key": ("id AKIA2E0A8F3B244C9986 set", "AKIA2E0A8F3B244C9986"),
    "aws_secret_key": ("aws_secret_access_key = " + _B64[:40], _B64[:40]),
    "github_token": ("token github_pat_11ABCDEFG0" + _b(59, 5) + " ok", "github_pat_11ABCDEFG0" + _b(59, 5)),
    "gitlab_token": ("CI uses glpat-" + _b(20, 7) + " today", "glpat-" + _b(20, 7)),
    "slack_token": ("bot xoxb-123456789012-1234567890123-" + _b(24, 2), "xoxb-123456789012-1234567890123-" + _b(24, 2)),
    "slack_webhook": ("post to https://hooks.slack.com/services/T0123ABCD/B0123ABCD/" + _b(24, 9), "B0123ABCD/" + _b(24, 9)),
    "discord_webhook": ("hook https://discord.com/api/webhooks/123456789012345678/" + _b(64, 4), _b(64, 4)),
    "google_api_key": ("maps AIzaSy" + _b(33, 11) + " set", "AIzaSy" + _b(33, 11)),
    "google_oauth_secret": ("client secret GOCSPX-" + _b(28, 13), "GOCSPX-" + _b(28, 13)),
    "stripe_key": ("stripe sk_test_" + _b(24, 6) + " for dev", "sk_test_" + _b(24, 6)),
    "jwt": ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c end",
            "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
    "huggingface_token": ("HF token hf_" + _b(34, 8) + " please", "hf_" + _b(34, 8)),
    "sendgrid_key": ("mail SG." + _b(22, 1) + "." + _b(43, 2) + " key", "SG." + _b(22, 1) + "." + _b(43, 2)),
    "twilio_key": ("twilio SK" + _HEX[:32] + " ok", "SK" + _HEX[:32]),
    "npm_token": ("npm token npm_" + _b(36, 3) + " set", "npm_" + _b(36, 3)),
    "pypi_token": ("upload with pypi-AgEIcHlwaS5vcmc" + _b(60, 2), "pypi-AgEIcHlwaS5vcmc" + _b(60, 2)),
    "telegram_bot_token": ("bot 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0 live", "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"),
    "azure_storage_key": ("DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=" + _B64[:86] + "==;EndpointSuffix=core.windows.net",
                          _B64[:86]),
    "azure_client_secret": ("client secret abc8Q~" + _b(34, 12) + " set", "abc8Q~" + _b(34, 12)),
    "groq_key": ("groq gsk_" + _b(52, 3), "gsk_" + _b(52, 3)),
    "replicate_token": ("replicate r8_" + _b(37, 4), "r8_" + _b(37, 4)),
    "digitalocean_token": ("do dop_v1_" + _HEX[:64], "dop_v1_" + _HEX[:64]),
    "shopify_token": ("shop shpat_" + _HEX[:32], "shpat_" + _HEX[:32]),
    "linear_key": ("linear lin_api_" + _b(40, 5), "lin_api_" + _b(40, 5)),
    "postman_key": ("postman PMAK-" + _HEX[:24] + "-" + _HEX[24:58], "PMAK-" + _HEX[:24] + "-" + _HEX[24:58]),
    "age_secret_key": ("age AGE-SECRET-KEY-1" + ("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L" * 2)[:58] + " key", "AGE-SECRET-KEY-1" + ("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L" * 2)[:58]),
    "square_token": ("square sq0atp-" + _b(22, 9), "sq0atp-" + _b(22, 9)),
    "newrelic_key": ("new relic NRAK-" + _b(27, 1).upper(), "NRAK-" + _b(27, 1).upper()),
    "atlassian_token": ("jira ATATT3" + _b(150, 2), "ATATT3" + _b(150, 2)),
    "url_password": ("connect to postgres://app:hunter2@localhost:5432/db", "hunter2"),
    "password": ("DB_HOST=db password=Tr0ub4dor&3x", "Tr0ub4dor"),
    "bearer_token": ("Authorization: Bearer 9aF3kL0pQ7zX2mN8vB4cR6tY1", "9aF3kL0pQ7zX2mN8vB4cR6tY1"),
    "basic_auth": ("Authorization: Basic ZGVwbG95OlMzY3IzdCFwdw==", "ZGVwbG95OlMzY3IzdCFwdw=="),
    "email": ("mail jane.doe@acme-corp.com today", "jane.doe@acme-corp.com"),
    "credit_card": ("my UnionPay card 6200000000000005, exp 12/29", "6200000000000005"),
    "iban": ("pay DE89 3704 0044 0532 0130 00 now", "3704 0044 0532 0130"),
    "ssn": ("my SSN is 078-05-1120, thanks", "078-05-1120"),
    "phone": ("call +44 20 7946 0958 tonight", "7946 0958"),
    "phone_national": ("ruf mich an unter 030 901820 morgen", "030 901820"),
}
