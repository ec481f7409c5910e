"""PRP003: calculator and annotation tags such as <<48/2=24>> left in replies."""

from __future__ import annotations

import re

from ...model import Severity
from ..base import Code

CODES: dict[str, Code] = {
    "PRP003": Code(
        Severity.WARNING,
        "calculator or annotation tags in a reply",
        why="""
            The reply holds tags like <<48/2=24>>, which some datasets (GSM8K among them) use
            to mark a calculator call inside the solution. In chat data they are noise the
            model learns to write. Remove the tags and keep the arithmetic as text.
        """,
        failing='{"messages": [{"role": "user", "content": "Natalia sold 48 clips in April and half as many in May. How many in all?"}, {"role": "assistant", "content": "In May she sold 48/2 = <<48/2=24>>24 clips, so 48+24 = <<48+24=72>>72 in all."}]}',
        passing='{"messages": [{"role": "user", "content": "Natalia sold 48 clips in April and half as many in May. How many in all?"}, {"role": "assistant", "content": "In May she sold 48/2 = 24 clips, so 48+24 = 72 in all."}]}',
    ),
}

_TAG = re.compile(r"<<[^<>\n=]{1,80}=[^<>\n]{1,40}>>")


def tags_in(text: str) -> list[str]:
    """The annotation tags in ``text``."""
    if "<<" not in text:  # the prefilter: every tag starts with it
        return []
    return _TAG.findall(text)
