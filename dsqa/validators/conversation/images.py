"""IMG001-IMG005: images beyond what OpenAI's vision fine-tuning takes (count, size, type, colour mode)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...model import Finding, Record, Severity
from ...wording import plural
from ..base import Code

if TYPE_CHECKING:
    from . import ConversationValidator

#: vision fine-tuning limits (reference section 1.3, "Image dataset requirements")
MAX_IMAGES_PER_EXAMPLE = 10
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_EXAMPLES = 50_000

CODES: dict[str, Code] = {
    "IMG001": Code(
        Severity.ERROR,
        "more than 10 images in one example",
        why="""
            OpenAI's vision fine-tuning takes at most 10 images per example. Split the example,
            or keep the images that matter.
        """,
        failing="an example whose user turns hold 12 image_url parts",
        passing="an example with one to ten images",
    ),
    "IMG002": Code(
        Severity.WARNING,
        "image over 10 MB",
        why="""
            An image given as a base64 data URL decodes to more than 10 MB. OpenAI skips images
            that are too large, so the example trains without it. Resize or recompress it (a
            JPEG of 2,048 pixels on the long side is far below the limit). Images given by URL
            are not downloaded, so their size is not known here.
        """,
        failing="a user turn with a data:image/png;base64 URL of 14 MB",
        passing="a user turn with a 300 KB JPEG data URL",
    ),
    "IMG003": Code(
        Severity.WARNING,
        "image is not JPEG, PNG or WEBP",
        why="""
            OpenAI's vision fine-tuning takes JPEG, PNG and WEBP images and skips others (GIF,
            BMP, TIFF, SVG, HEIC). The type is read from the image's own bytes in a data URL
            (and a data URL that names one type but holds another is reported too), and from the
            file extension of a URL. Convert the image to PNG or JPEG.
        """,
        failing='{"messages": [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": "https://example.com/cat.gif"}}]}, {"role": "assistant", "content": "A cat."}]}',
        passing='{"messages": [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]}, {"role": "assistant", "content": "A cat."}]}',
    ),
    "IMG004": Code(
        Severity.WARNING,
        "image is not in RGB or RGBA mode",
        why="""
            OpenAI's vision fine-tuning takes images in RGB or RGBA mode. A greyscale or
            palette PNG, or a greyscale or CMYK JPEG, read from a data URL, is skipped. Convert
            it to RGB (for example with Pillow's Image.convert("RGB")).
        """,
        failing="a user turn with a data URL of a greyscale PNG",
        passing="a user turn with a data URL of an RGB PNG",
    ),
    "IMG005": Code(
        Severity.ERROR,
        "more than 50,000 examples with images",
        why="""
            A vision fine-tuning file may hold at most 50,000 examples that contain images
            (text-only examples do not count). Split the data over jobs, or sample it.
        """,
        failing="a training file with 60,000 examples that contain images",
        passing="a file with 50,000 examples with images and any number without",
    ),
}

_EXTENSIONS = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".gif": "GIF", ".bmp": "BMP",
    ".tif": "TIFF", ".tiff": "TIFF", ".svg": "SVG", ".heic": "HEIC", ".heif": "HEIF", ".avif": "AVIF",
}
_ACCEPTED = frozenset({"JPEG", "PNG", "WEBP"})
_MIME = {"image/jpeg": "JPEG", "image/jpg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF",
         "image/bmp": "BMP", "image/tiff": "TIFF", "image/svg+xml": "SVG", "image/heic": "HEIC", "image/avif": "AVIF"}
#: base64 characters decoded to find a JPEG's frame header (it follows the EXIF and tables)
_JPEG_HEAD = 87_384


def _kind(head: bytes) -> str | None:
    """The image type from its first bytes; None when unknown."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"GIF8",):
        return "GIF"
    if head[:2] == b"BM":
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head.lstrip()[:4] in (b"<svg", b"<?xm"):
        return "SVG"
    return None


def _png_mode(head: bytes) -> str | None:
    # IHDR: 8-byte signature, 4-byte length, "IHDR", width, height, bit depth, colour type
    if len(head) < 26 or head[12:16] != b"IHDR":
        return None
    return {0: "greyscale", 2: "RGB", 3: "palette", 4: "greyscale with alpha", 6: "RGBA"}.get(head[25])


def _jpeg_mode(data: bytes) -> str | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            components = data[i + 9]
            return {1: "greyscale", 3: "RGB", 4: "CMYK"}.get(components)
        i += 2 + length
    return None


@dataclass
class Image:
    """What is known of one image part without downloading it."""

    pointer: str
    kind: str | None = None
    declared: str | None = None
    size: int | None = None
    mode: str | None = None


def read_image(part: dict[str, Any], pointer: str) -> Image:
    """The type, size and colour mode of an ``image_url`` part, as far as its URL tells."""
    spec = part.get("image_url")
    url = spec.get("url") if isinstance(spec, dict) else spec
    image = Image(pointer)
    if not isinstance(url, str):
        return image
    if not url.startswith("data:"):
        path = url.split("?", 1)[0].split("#", 1)[0].lower()
        dot = path.rfind(".")
        image.kind = _EXTENSIONS.get(path[dot:]) if dot > path.rfind("/") else None
        return image
    comma = url.find(",")
    header = url[5:comma] if comma > 0 else ""
    image.declared = _MIME.get(header.split(";", 1)[0].lower())
    if ";base64" not in header:
        return image
    payload = url[comma + 1:]
    image.size = len(payload) * 3 // 4 - payload[-2:].count("=")
    try:
        head = base64.b64decode(payload[:_JPEG_HEAD - _JPEG_HEAD % 4], validate=False)
    except (binascii.Error, ValueError):
        return image
    image.kind = _kind(head)
    if image.kind == "PNG":
        image.mode = _png_mode(head)
    elif image.kind == "JPEG":
        image.mode = _jpeg_mode(head)
    return image


@dataclass
class ImageCount:
    """The dataset-level state of IMG005: examples that contain images."""

    examples: int = 0
    first_lines: list[int] = field(default_factory=list)

    def merge(self, other: ImageCount) -> None:
        """Fold in the chunk of records after ours."""
        self.examples += other.examples

    def findings(self, path: str, validator: str) -> Iterator[Finding]:
        """IMG005 when the file has more examples with images than a job takes."""
        if self.examples > MAX_IMAGE_EXAMPLES:
            yield Finding(
                code="IMG005", severity=CODES["IMG005"].severity, validator=validator, path=path,
                message=f"{self.examples:,} examples contain images; a vision fine-tuning file may hold at most {MAX_IMAGE_EXAMPLES:,}",
                hint="split the data over several jobs, or sample it",
                data={"examples": self.examples, "limit": MAX_IMAGE_EXAMPLES},
            )


def check(v: ConversationValidator, record: Record, images: list[Image]) -> Iterator[Finding]:
    """IMG001-IMG004 of one example, once per code, at the first image concerned."""
    for rule in (_too_many, _too_large, _wrong_type, _wrong_mode):
        found = rule(v, record, images)
        if found is not None:
            yield found


def _more(images: list[Image], what: str) -> str:
    return f" ({plural(len(images), 'image')} {what} in this example)" if len(images) > 1 else ""


def _too_many(v: ConversationValidator, record: Record, images: list[Image]) -> Finding | None:
    if len(images) <= MAX_IMAGES_PER_EXAMPLE or not v.wants("IMG001"):
        return None
    return v.finding(
        "IMG001", record, f"{len(images):,} images in one example; vision fine-tuning takes at most {MAX_IMAGES_PER_EXAMPLE}",
        images[MAX_IMAGES_PER_EXAMPLE].pointer, "split the example, or keep the images that matter",
        {"images": len(images), "limit": MAX_IMAGES_PER_EXAMPLE},
    )


def _too_large(v: ConversationValidator, record: Record, images: list[Image]) -> Finding | None:
    large = [i for i in images if i.size is not None and i.size > MAX_IMAGE_BYTES]
    if not large or not v.wants("IMG002"):
        return None
    size = large[0].size or 0
    return v.finding(
        "IMG002", record, f"image of {size / 1024 / 1024:,.1f} MB; OpenAI skips images over 10 MB{_more(large, 'this large')}",
        large[0].pointer, "resize or recompress the image", {"bytes": size, "images": len(large)},
    )


def _wrong_type(v: ConversationValidator, record: Record, images: list[Image]) -> Finding | None:
    wrong = [i for i in images if (i.kind and i.kind not in _ACCEPTED) or (i.declared and i.kind and i.declared != i.kind)]
    if not wrong or not v.wants("IMG003"):
        return None
    first = wrong[0]
    what = (f"a data URL that says {first.declared} holds a {first.kind} image" if first.kind in _ACCEPTED
            else f"{first.kind} image; OpenAI takes JPEG, PNG and WEBP")
    return v.finding("IMG003", record, what + _more(wrong, "like this"), first.pointer, "convert the image to PNG or JPEG",
                     {"type": first.kind, "declared": first.declared})


def _wrong_mode(v: ConversationValidator, record: Record, images: list[Image]) -> Finding | None:
    modes = [i for i in images if i.mode is not None and i.mode not in ("RGB", "RGBA")]
    if not modes or not v.wants("IMG004"):
        return None
    first = modes[0]
    return v.finding(
        "IMG004", record, f"{first.kind} image in {first.mode} mode; OpenAI takes RGB and RGBA{_more(modes, 'like this')}",
        first.pointer, 'convert it to RGB, e.g. Image.convert("RGB") in Pillow', {"mode": first.mode},
    )
