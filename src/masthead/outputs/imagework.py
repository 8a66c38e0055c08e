"""The Pillow side of the image stage: recognise an image, then make its resized copies.

Everything here takes bytes or paths and returns plain values, so that it runs as well
in a forked worker as in the build's own process. An image is trusted for nothing: its
format is sniffed from its bytes (never taken from a Content-Type or a file name), its
size is checked from its header before a pixel is decoded, and only the first frame of
an animation is used. Pillow also refuses pixel counts past its own bomb limit.
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, features

from masthead.diagnostics import MastheadError

ALLOWED = frozenset({"JPEG", "PNG", "GIF", "WEBP", "AVIF"})
"""Formats accepted as originals; anything else (SVG, HTML, PDF, TIFF...) stays remote."""
SUFFIX = {"avif": "avif", "webp": "webp"}
_AVIF_SPEED = 8
"""libavif's speed (0 slowest, 10 fastest): past 6, the files grow by a few per cent only."""


class ImageRefused(MastheadError):
    """The bytes are not an image masthead will decode; the message says why."""


@dataclass(frozen=True, slots=True)
class Original:
    """What the stage keeps about an original: its size once upright, and a colour to
    show while it loads."""

    width: int
    height: int
    colour: str
    """`#rrggbb`, the image's average colour."""


def writable_formats(wanted: tuple[str, ...]) -> tuple[str, ...]:
    """The formats of `wanted` that the installed Pillow can write (WebP at least)."""
    usable = tuple(f for f in wanted if features.check(f))
    return usable or ("webp",)


def widths_for(original: int, widths: tuple[int, ...]) -> tuple[int, ...]:
    """The copies' widths: each configured width smaller than the original, and the
    original's own width when it is narrower than the widest (never upscaled)."""
    largest = max(widths)
    return tuple(sorted({w for w in widths if w < original} | {min(original, largest)}))


def open_image(data: bytes, max_pixels: int) -> Image.Image:
    """The image in `data`, its header read and checked, not yet decoded.

    Raises ImageRefused for bytes Pillow does not recognise, formats not in ALLOWED and
    images over `max_pixels` (a decompression bomb is a small file of many pixels).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=sorted(ALLOWED))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRefused(f"refused: {exc}") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageRefused(f"not an image of an allowed format ({exc})") from None
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise ImageRefused(
            f"refused: {width}x{height} pixels, over the limit of {max_pixels} (a pixel bomb?)"
        )
    return image


def upright(image: Image.Image) -> Image.Image:
    """The first frame, turned as its EXIF orientation says, in RGB or RGBA.

    CMYK, palette, 16-bit, greyscale-with-alpha and the like all end as one of the two
    modes the encoders take; transparency is kept only where the image has some.
    """
    image.seek(0)  # an animation's first frame; a still image has only that
    image.load()
    image = ImageOps.exif_transpose(image) or image
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    if image.mode == "P" and has_alpha:
        image = image.convert("RGBA")
    mode = "RGBA" if has_alpha else "RGB"
    if image.mode == "I;16" or image.mode.startswith("I;16"):
        image = image.point(lambda v: v / 256).convert("L")  # 16-bit grey: keep the range
    if image.mode != mode:
        image = image.convert(mode)
    return image


def describe(image: Image.Image) -> Original:
    """Size and average colour of an upright image."""
    pixel = image.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    r, g, b = pixel if isinstance(pixel, tuple) else (pixel, pixel, pixel)
    return Original(image.width, image.height, f"#{r:02x}{g:02x}{b:02x}")


def encode(image: Image.Image, width: int, fmt: str, quality: int) -> bytes:
    """`image` resized to `width` (height in proportion) and encoded as `fmt`."""
    if width < image.width:
        height = max(1, round(image.height * width / image.width))
        image = image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    out = io.BytesIO()
    if fmt == "avif":
        image.save(out, "AVIF", quality=quality, speed=_AVIF_SPEED)
    else:
        image.save(out, "WEBP", quality=quality, method=4)
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class Job:
    """One original whose copies are to be made (those not in `folder` already)."""

    source: Path
    key: str
    """The copies' names start with it: `<key>-<width>.<suffix>`."""
    widths: tuple[int, ...]
    formats: tuple[str, ...]
    folder: Path
    quality: int
    max_pixels: int


Made = tuple[Original, tuple[tuple[str, int, str], ...]]
"""An original described, and its copies: (file name, width, format), narrowest first."""


def run_jobs(jobs: Sequence[Job]) -> list[Made | str]:
    """Describe each job's original and make its missing copies; per job what was made,
    or why it failed.

    Runs in worker processes (parallel.run_chunks). A copy is written under a temporary
    name and renamed, so a copy in the folder is always whole, and one found there is
    not made again.
    """
    results: list[Made | str] = []
    for job in jobs:
        try:
            results.append(_run(job))
        except (ImageRefused, OSError, ValueError, SyntaxError, MemoryError) as exc:
            results.append(str(exc) if isinstance(exc, ImageRefused) else f"cannot decode: {exc}")
        except Image.DecompressionBombError as exc:
            results.append(f"refused: {exc}")
        except Exception as exc:  # hostile bytes past a decoder's checks: not the build's end
            results.append(f"cannot decode: {type(exc).__name__}: {exc}")
    return results


def _run(job: Job) -> Made:
    image = open_image(job.source.read_bytes(), job.max_pixels)
    full_width = image.width
    if image.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale when that is still wide enough
        widest = max(job.widths)
        image.draft("RGB", (widest, max(1, widest * image.height // image.width)))
    scale = image.width / full_width
    image = upright(image)
    decoded = describe(image)
    # The page is told the original's size (its aspect ratio, in practice), not the draft's.
    original = Original(round(image.width / scale), round(image.height / scale), decoded.colour)
    copies = []
    for width in widths_for(image.width, job.widths):
        for fmt in job.formats:
            name = f"{job.key}-{width}.{SUFFIX[fmt]}"
            path = job.folder / name
            if not path.is_file():
                write_atomically(path, encode(image, width, fmt, job.quality))
            copies.append((name, width, fmt))
    return original, tuple(copies)


def write_atomically(path: Path, data: bytes) -> None:
    """Whole or not at all, also when several threads (the fetch pool) or processes (the
    workers, another build) write the same file at once: each has a temporary file of its
    own. One shared by threads failed all but the first rename, or renamed a torn file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
