"""The console's upload room: a received file checked by its content, then put under assets/.

What a file is comes from its bytes (``signage.playlist.sniff_media``), never its name:
pictures are opened with Pillow (pixel count bounded before decoding, so a decompression
bomb is refused without being inflated, then fully decoded so a truncated or corrupt file
is caught), videos are asked of ffprobe. The stored name is made from the uploaded one
(ASCII letters, digits and ``-``) with the extension of what the file really is, so no
name can leave ``assets/``. Messages are in Spanish: they are shown to the comms team.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

from signage.console.files import safe_stem
from signage.i18n import _

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
MAX_IMAGE_BYTES = 30 * 1024 * 1024
MAX_PIXELS = 40_000_000  # 8K is 33 Mpx; anything bigger is not meant for a screen
MAX_VIDEO_S = 3600.0
IMAGE_EXT = {"png": "png", "jpeg": "jpg", "webp": "webp", "gif": "gif"}
VIDEO_EXT = {"mp4": "mp4", "webm": "webm"}
DATA_EXT = {"csv": "csv", "json": "json"}
FOLDER = "assets"
DATA_FOLDER = "assets/datos"  # where the bundled data files are, and uploaded ones go


class UploadRefused(Exception):
    """Raised when an upload is refused; the message (in the request's language) says why."""


@dataclass(frozen=True, slots=True)
class Checked:
    kind: str  # "image" | "video" | "data"
    media: str  # png, jpeg, ... mp4, webm, csv, json
    width: int = 0
    height: int = 0
    seconds: float | None = None


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


def check_image(path: Path, media: str) -> Checked:
    from PIL import Image

    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        raise UploadRefused(
            _("the picture weighs {size}; the limit for pictures is {limit}").format(
                size=_mb(size), limit=_mb(MAX_IMAGE_BYTES)
            )
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
                if width * height > MAX_PIXELS:
                    raise UploadRefused(
                        _(
                            "the picture is {width}×{height} pixels; the limit is {limit} "
                            "megapixels (a 4K screen has 8)"
                        ).format(width=width, height=height, limit=MAX_PIXELS // 1_000_000)
                    )
                im.load()  # decodes every pixel: catches truncated and corrupt files
    except UploadRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadRefused(_("the picture is too large to decompress")) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise UploadRefused(
            _("the file is not a valid picture ({reason})").format(reason=exc)
        ) from None
    return Checked("image", media, width, height)


def check_video(path: Path, media: str) -> Checked:
    if shutil.which("ffprobe") is None:
        raise UploadRefused(_("the server has no ffprobe to check videos; tell IT"))
    try:
        done = subprocess.run(
            [
                "ffprobe",
                "-v",
                "error",
                "-print_format",
                "json",
                "-show_entries",
                "stream=codec_type,width,height:format=duration",
                str(path),
            ],
            capture_output=True,
            timeout=30,
            check=False,
        )
        info = json.loads(done.stdout or b"{}")
    except (OSError, subprocess.TimeoutExpired, ValueError):
        raise UploadRefused(_("the video could not be checked (is it damaged?)")) from None
    streams = [s for s in info.get("streams", []) if s.get("codec_type") == "video"]
    if done.returncode != 0 or not streams:
        raise UploadRefused(_("the file is not a video the screens can show"))
    try:
        seconds = float(info.get("format", {}).get("duration", "0"))
    except ValueError:
        seconds = 0.0
    if seconds > MAX_VIDEO_S:
        raise UploadRefused(
            _("the video lasts {minutes} min; the limit is {limit} min").format(
                minutes=f"{seconds / 60:.0f}", limit=f"{MAX_VIDEO_S / 60:.0f}"
            )
        )
    return Checked(
        "video", media, int(streams[0].get("width", 0)), int(streams[0].get("height", 0)), seconds
    )


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 4  # a multi-byte letter cut at the end of the head
    return True


def check_data(path: Path, *, sure: bool = False) -> Checked | None:
    """A CSV or JSON table a data slide can read (parsed, bounded as the validator reads
    it, at least two columns). ``None`` when the bytes are not such a table, unless
    ``sure`` (the file was sent to a data slide): then ``UploadRefused`` says why."""
    from signage.data.files import read_bounded
    from signage.data.table import MAX_DATA_BYTES, DataProblem, parse_csv, parse_json

    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(4096)
    if not sure and not _looks_like_text(head):
        return None
    if size > MAX_DATA_BYTES and sure:
        raise UploadRefused(
            _(
                "the data file weighs {size} KB; the limit is {limit} KB (a slide shows few "
                "rows: upload a summary)"
            ).format(size=size // 1024, limit=MAX_DATA_BYTES // 1024)
        )
    media = "json" if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{") else "csv"
    try:
        raw = read_bounded(path, path.parent, path.name)
        table = (parse_json if media == "json" else parse_csv)(raw, _("the file"))
        if len(table.columns) < 2:
            raise DataProblem(
                _("a single column: it needs one that names the rows and another with numbers")
            )
    except DataProblem as exc:
        if not sure:
            return None
        raise UploadRefused(
            _(
                "the file cannot be read as a {kind} table ({reason}); export it from the "
                "spreadsheet as CSV (UTF-8)"
            ).format(kind=media.upper(), reason=exc)
        ) from None
    return Checked("data", media)


def check_file(
    path: Path, kinds: frozenset[str] = frozenset({"image", "video", "data"})
) -> Checked:
    """What ``path`` really is, checked; ``UploadRefused`` with the reason otherwise.

    ``kinds``: what the place it was sent to accepts (a data slide only ``data``, a picture
    or video slide ``image`` and ``video``)."""
    from signage.playlist import sniff_media

    size = path.stat().st_size
    if size == 0:
        raise UploadRefused(_("the file is empty"))
    if size > MAX_UPLOAD_BYTES:
        raise UploadRefused(
            _("the file weighs {size}; the limit is {limit}").format(
                size=_mb(size), limit=_mb(MAX_UPLOAD_BYTES)
            )
        )
    media = sniff_media(path)
    if kinds == {"data"}:
        if media is not None:
            raise UploadRefused(
                "el archivo es una imagen o un video, no una tabla; sube un CSV o un JSON"
            )
        return check_data(path, sure=True) or Checked("data", "csv")
    if "data" in kinds and media is None:
        table = check_data(path)
        if table is not None:
            return table
    if media in IMAGE_EXT:
        return check_image(path, media)
    if media in VIDEO_EXT:
        return check_video(path, media)
    if media == "svg":
        raise UploadRefused(_("uploaded SVG files are not accepted; export it as PNG"))
    if "data" not in kinds and media is None and check_data(path) is not None:
        raise UploadRefused(
            _("it is a data file (CSV or JSON); to show it as a chart, add a slide with «+ Data»")
        )
    if "data" in kinds:
        raise UploadRefused(
            _(
                "the file's content is neither a picture (PNG, JPEG, WebP, GIF) nor a video "
                "(MP4, WebM) nor a data table (CSV or JSON of 1 MB at most), whatever its name"
            )
        )
    raise UploadRefused(
        _(
            "the file's content is neither a picture (PNG, JPEG, WebP, GIF) nor a video "
            "(MP4, WebM), whatever its name"
        )
    )


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def store(
    root: Path,
    received: Path,
    filename: str,
    kinds: frozenset[str] = frozenset({"image", "video", "data"}),
) -> tuple[str, Checked]:
    """Checks ``received`` and moves it under ``ROOT/assets/`` (data files under
    ``ROOT/assets/datos/``); returns its asset path.

    The same bytes already stored under that name are reused (no copy ``-2``)."""
    checked = check_file(received, kinds)
    ext = (IMAGE_EXT | VIDEO_EXT | DATA_EXT)[checked.media]
    fallback = {"image": "imagen", "video": "video"}.get(checked.kind, "datos")
    stem = safe_stem(filename, fallback)
    where = DATA_FOLDER if checked.kind == "data" else FOLDER
    folder = (root / where).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    digest = _digest(received)
    for n in range(1, 1000):
        name = f"{stem}.{ext}" if n == 1 else f"{stem}-{n}.{ext}"
        target = folder / name
        if target.exists():
            if target.is_file() and _digest(target) == digest:
                received.unlink(missing_ok=True)
                return f"{where}/{name}", checked
            continue
        received.chmod(0o644)
        received.replace(target)
        return f"{where}/{name}", checked
    raise UploadRefused(_("there are too many files with that name; rename it"))
