"""A record's raw line reduced to the few kinds of bytes the content and sensitive gates test, made once per record."""

from __future__ import annotations

from ..model import Record

#: the bytes a signature keeps: capitals, digits, braces, brackets, '<', '%', the quote that ends a
#: JSON string, the apostrophe, '@', '_', '+', '-', '/', the rare letters k, x and z, and the lead
#: bytes of the UTF-8 sequences mojibake is made of; every other byte (the other lowercase
#: letters, spaces, most punctuation) is deleted
KEEP = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + b'{}[]<%"\'@_+-/kxz' + b"\xc3\xe2\xef"
_DELETE = bytes(b for b in range(256) if b not in KEEP)


def signature(record: Record) -> bytes:
    """The record's raw line without the bytes ``KEEP`` leaves out, computed by the first caller.

    Bytes next to each other in the line stay next to each other, so a literal made of kept
    bytes can be in the line only if it is in the signature: a test on the short signature
    rules a literal out, and only a hit needs a look at the line itself.
    """
    sig = record.signature
    if sig is None:
        sig = record.signature = record.raw.translate(None, _DELETE)
    return sig
