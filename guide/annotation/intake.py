"""Many images in: a list of image files, folders, or zip archives -> checked image files.

What an annotator drops on the app (or names with ``--images``) is untrusted: a zip
may be a bomb or carry ``../../x.png`` entries, a folder may hold notes and videos,
two files may share a name. :func:`collect` turns such a batch into
:class:`ImageFile` items (a unique id each, bytes read lazily) plus one message per
thing it skipped or refused, so the user learns what happened and nothing is
extracted to disk by a name the archive chose.

Limits (stated in the UI):

* ``MAX_IMAGES`` images per batch (the rest are left out, named in a message);
* ``MAX_FILE_BYTES`` per image file, ``MAX_BATCH_BYTES`` in all (uncompressed);
* a zip with more than ``MAX_ZIP_ENTRIES`` entries, an uncompressed/compressed ratio
  above ``MAX_ZIP_RATIO``, or an entry that is absolute or climbs out with ``..`` is
  refused whole;
* images above ``MAX_INPUT_PIXELS`` are skipped before decoding (decompression bombs);
  larger sides are downscaled to ``MAX_SIDE`` when decoded (both as for a single upload:
  :func:`guide.serving.pagevalues.load_image` decodes every image);
* at most ``MAX_BATCH_PIXELS`` pixels are decoded per request, all images together
  (:class:`PixelBudget`: each image's size is read from its header first; once the budget
  is spent the rest of the batch is left out, counted in a message). Without it 120 tiny
  files of 49 MP each (1-bit PNGs, ~6 KB apiece, every check above passed) cost ~48 CPU-seconds
  of one request.
"""

from __future__ import annotations

import io
import os
import re
import stat
import threading
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from PIL import Image

from guide.core.export import safe_stem
from guide.serving.pagevalues import MAX_INPUT_PIXELS, MAX_SIDE

MAX_IMAGES = 1000  # images opened per batch
MAX_FILE_BYTES = 50 * 2**20  # one image file
MAX_BATCH_BYTES = 1 * 2**30  # all image files of a batch together, uncompressed
MAX_ZIP_ENTRIES = 5000  # entries (files and folders) in one zip
MAX_ZIP_RATIO = 100  # uncompressed / compressed bytes of a whole zip (photos barely compress: ~1)
# Pixels decoded per request, all images together (header sizes, before decoding). A tiny file can hold a
# huge image (a 7000x7000 1-bit PNG is ~6 KB), so bytes do not bound the decode work: pixels do. 1 gigapixel
# still opens ~80 phone photos of 12 MP in one go, and costs ~8 CPU-seconds at worst (~8 s per gigapixel for
# the cheapest-to-store images, 1-bit PNGs, on this project's CPU); a larger batch opens in several.
MAX_BATCH_PIXELS = 1_000_000_000
SNIFF_BYTES = 64 * 1024  # bytes read to tell an image from other files (PIL needs the header only)

#: What PIL must recognise a file as for it to count as an image.
IMAGE_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF", "MPO"})
#: Files that travel inside archives made on macOS / Windows; skipped without a message.
_JUNK = re.compile(r"(^|/)(__MACOSX/|\._|\.DS_Store$|Thumbs\.db$|desktop\.ini$)", re.I)


def limits_text() -> str:
    """The limits as one sentence for the UI."""
    return (f"Up to {MAX_IMAGES} images per batch, {MAX_FILE_BYTES >> 20} MB per image and "
            f"{MAX_BATCH_BYTES >> 20} MB in all, {MAX_BATCH_PIXELS / 1e6:,.0f} MP of images in all; images larger than "
            f"{MAX_INPUT_PIXELS / 1e6:.0f} MP are skipped and sides above {MAX_SIDE} px are downscaled; zips may hold "
            f"{MAX_ZIP_ENTRIES} entries.")


class BadImage(ValueError):
    """A file in a batch that cannot be read as it claims; the message says why, for the user."""


@dataclass
class ImageFile:
    """One image of a batch: a unique ``id`` (file-name safe), the name the user gave it,
    and its bytes (read on demand, so a batch of hundreds is never all in memory)."""

    id: str
    name: str
    size: int
    read: Callable[..., bytes] = field(repr=False)  # read() -> all bytes; read(n) -> the first n
    digest: str | None = None  # the original file's hash, when these bytes are a data set's stored copy of it


@dataclass
class Batch:
    """What :func:`collect` found: the images in order and one message per skipped thing."""

    images: list[ImageFile] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- headers


def sniff_image(head: bytes) -> bool:
    """Whether these bytes open as an image PIL knows (header only, nothing decoded)."""
    try:
        with Image.open(io.BytesIO(head)) as im:
            return im.format in IMAGE_FORMATS
    except Exception:  # noqa: BLE001 - any failure to parse a header means "not an image"
        return False


def header_pixels(data: bytes) -> int:
    """Width x height an image's header declares (nothing decoded); 0 when PIL cannot read one."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # load_image refuses it with a message
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
                return int(w) * int(h)
    except Exception:  # noqa: BLE001 - not an image, or a bomb: load_image says so with its own message
        return 0


class PixelBudget:
    """The pixels one request may still decode (``MAX_BATCH_PIXELS`` unless given), shared by
    every image it opens: :meth:`take` each image's header size BEFORE decoding it; once one does
    not fit, that image and the rest are left out (:meth:`leave_out`) and :meth:`message` counts them."""

    def __init__(self, pixels: float | None = None) -> None:  # float("inf"): no budget (the operator's own files)
        self.total = MAX_BATCH_PIXELS if pixels is None else pixels
        self.left = self.total
        self.left_out: list[str] = []

    @property
    def spent(self) -> bool:
        return bool(self.left_out)

    def take(self, data: bytes) -> bool:
        """Whether the image in ``data`` fits (then its pixels are spent). Images over
        ``MAX_INPUT_PIXELS`` cost nothing: load_image refuses them before decoding."""
        if self.spent:
            return False
        px = header_pixels(data)
        if px > MAX_INPUT_PIXELS:
            return True
        if px > self.left:
            return False
        self.left -= px
        return True

    def leave_out(self, names: Iterable[str]) -> None:
        self.left_out.extend(names)

    def message(self) -> str | None:
        """What was left out, for the user (None: nothing)."""
        if not self.left_out:
            return None
        n = len(self.left_out)
        shown = ", ".join(self.left_out[:5]) + (" …" if n > 5 else "")
        photos = int(self.total // 12_000_000)
        about = f" (about {photos} photos of 12 MP)" if photos > 1 else ""
        return (f"{n} more image{'s were' if n != 1 else ' was'} not opened: one batch decodes at most "
                f"{self.total / 1e6:,.0f} MP of images in all{about}; open {'them' if n != 1 else 'it'} in another batch: {shown}.")


# --------------------------------------------------------------------------- ids


def safe_id(name: str) -> str:
    """A file's stem (folders and extension dropped) as a VOC id: letters, digits and
    ``_ . -`` only (split lists are whitespace separated; ids become file names)."""
    return safe_stem(Path(PurePosixPath(name.replace("\\", "/")).name).stem)


class IdMaker:
    """Unique ids, case-insensitively (``Cat`` and ``cat`` are one file on macOS/Windows):
    the second ``cat`` becomes ``cat_2``. ``taken`` are ids already in use."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self.taken = {t.lower() for t in taken}
        self.tried: dict[str, int] = {}  # base -> the last suffix tried: n repeats of one name cost n steps, not n^2

    def __call__(self, name: str) -> str:
        base = safe_id(name)
        cand, k = base, self.tried.get(base.lower(), 1)
        if k > 1:
            cand = f"{base}_{k}"
        while cand.lower() in self.taken:
            k += 1
            cand = f"{base}_{k}"
        self.taken.add(cand.lower())
        self.tried[base.lower()] = k
        return cand


# --------------------------------------------------------------------------- collecting


def _unsafe_member(name: str) -> bool:
    """An archive entry that is absolute or climbs out of the archive with ``..``."""
    if not name or "\x00" in name:
        return True
    for p in (PurePosixPath(name), PureWindowsPath(name)):
        if p.is_absolute() or p.drive or p.root or ".." in p.parts:
            return True
    return False


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, n: int = -1) -> bytes:
    """An entry's bytes (the first ``n``), never more than it declared (a lying header cannot grow it)."""
    with zf.open(info) as f:
        data = f.read(info.file_size + 1 if n < 0 else min(n, info.file_size + 1))
    if len(data) > info.file_size:
        raise BadImage("it is larger than its zip header says")
    return data


def _zip_images(path: Path, label: str, messages: list[str]) -> list[tuple[str, int, Callable[[], bytes]]]:
    """Image entries of one zip as (name, size, reader); refuses the whole zip on a bomb or traversal."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        messages.append(f"{label}: refused, not a readable zip ({e}).")
        return []
    with zf:
        infos = zf.infolist()
        refusal = zip_refusal(infos, label)
        if refusal is not None:
            messages.append(refusal)
            return []
        names = {i.filename for i in infos}
        shared = _ZipReader(path)
        out = []
        for info in sorted(infos, key=lambda i: PurePosixPath(i.filename)):  # the order a folder opens in
            if info.is_dir() or _JUNK.search(info.filename):
                continue
            if is_label_map(info.filename, names):
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                messages.append(f"{label}/{info.filename}: skipped, a link is not an image.")
                continue
            if info.flag_bits & 0x1:
                messages.append(f"{label}/{info.filename}: skipped, it is encrypted.")
                continue
            out.append((f"{label}/{info.filename}", info.file_size, _member_reader(shared, info)))
        return out


def zip_refusal(infos: list[zipfile.ZipInfo], label: str) -> str | None:
    """Why a whole zip is refused (too many entries, an entry outside it, too large, a bomb), or None."""
    if len(infos) > MAX_ZIP_ENTRIES:
        return f"{label}: refused, it holds {len(infos)} entries (the limit is {MAX_ZIP_ENTRIES})."
    bad = next((i.filename for i in infos if _unsafe_member(i.filename)), None)
    if bad is not None:
        return f"{label}: refused, the entry {bad!r} points outside the archive."
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if total > MAX_BATCH_BYTES:
        return f"{label}: refused, it unpacks to {total / 2**20:.0f} MB (the limit is {MAX_BATCH_BYTES >> 20} MB)."
    if total > MAX_ZIP_RATIO * max(packed, 1) and total > 2**20:
        return (f"{label}: refused, it unpacks {total // max(packed, 1)}x larger than it is "
                f"(a zip bomb; the limit is {MAX_ZIP_RATIO}x).")
    return None


def is_label_map(name: str, siblings: set[str]) -> bool:
    """Whether the file ``name`` (a path in a folder or zip whose other paths are ``siblings``)
    is a label map, not a photo: inside a VOC ``SegmentationClass``/``SegmentationObject``
    folder, or ``X_label.png`` next to an image ``X.*`` (the examples/ layout)."""
    path = PurePosixPath(name.replace("\\", "/"))
    if any(part in ("SegmentationClass", "SegmentationObject") for part in path.parts[:-1]):
        return True
    if path.name.lower().endswith("_label.png"):
        stem = path.name[: -len("_label.png")]
        return any(str(path.with_name(stem + ext)) in siblings for ext in (".png", ".jpg", ".jpeg", ".webp", ".bmp"))
    return False


class _ZipReader:
    """One open ZipFile for all the readers of a zip's entries: its central directory is parsed
    once, not at every read (at 1,000 entries that was ~7 ms a read, two reads an image).
    Closed with the last reader."""

    def __init__(self, path: Path) -> None:
        self.path, self.zf, self.lock = path, None, threading.Lock()

    def read(self, info: zipfile.ZipInfo, n: int = -1) -> bytes:
        with self.lock:
            if self.zf is None:
                self.zf = zipfile.ZipFile(self.path)
            return _read_member(self.zf, info, n)

    def __del__(self) -> None:
        if self.zf is not None:
            self.zf.close()


def _member_reader(shared: _ZipReader, info: zipfile.ZipInfo) -> Callable[..., bytes]:
    def read(n: int = -1) -> bytes:
        return shared.read(info, n)

    return read


def _file_reader(path: Path) -> Callable[..., bytes]:
    def read(n: int = -1) -> bytes:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1 if n < 0 else min(n, MAX_FILE_BYTES + 1))
        if len(data) > MAX_FILE_BYTES:
            raise BadImage(f"it is larger than {MAX_FILE_BYTES >> 20} MB")
        return data

    return read


def _candidates(paths: Iterable[str | os.PathLike], messages: list[str], exclude: Path | None = None
                ) -> Iterator[tuple[str, int, Callable[..., bytes]]]:
    """(display name, size, reader) for every file in ``paths`` (folders walked, zips opened),
    leaving out what lies in ``exclude``."""
    for raw in paths:
        path = Path(raw)
        label = path.name or str(path)
        if exclude is not None and path.resolve().is_relative_to(exclude):
            messages.append(f"{label}: skipped, it is inside the data set being written.")
        elif path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not any(s.startswith(".") for s in p.relative_to(path).parts)
                           and not (exclude is not None and p.resolve().is_relative_to(exclude)))
            names = {p.relative_to(path).as_posix() for p in files}
            files = [f for f in files if not is_label_map(f.relative_to(path).as_posix(), names)]
            for f in files:
                yield from _candidates([f], messages) if zipfile.is_zipfile(f) else [(str(f.relative_to(path)), f.stat().st_size, _file_reader(f))]
        elif not path.is_file():
            messages.append(f"{label}: skipped, no such file.")
        elif path.suffix.lower() == ".zip" or (zipfile.is_zipfile(path) and not _is_image_file(path)):
            yield from _zip_images(path, label, messages)
        else:
            yield label, path.stat().st_size, _file_reader(path)


def _is_image_file(path: Path) -> bool:
    with open(path, "rb") as f:
        return sniff_image(f.read(SNIFF_BYTES))


def collect(paths: Iterable[str | os.PathLike], taken: Iterable[str] = (), exclude: str | os.PathLike | None = None) -> Batch:
    """Check a batch: image files, folders (walked, hidden files skipped) and zip archives.

    ``taken``: ids already in use (a data set being extended), so new ids never clash;
    ``exclude``: a folder whose files are never taken (the data set itself, when
    ``--images .`` holds ``--out``: its own JPEGs must not come back as new images).
    Non-images, over-size files and
    images beyond ``MAX_IMAGES`` are skipped with a message naming them; a dangerous zip
    is refused whole. Only file headers are read here; :func:`load_image` decodes.
    """
    batch = Batch()
    make_id = IdMaker(taken)
    total, left_out = 0, []
    for name, size, read in _candidates(paths, batch.messages, Path(exclude).resolve() if exclude is not None else None):
        if size > MAX_FILE_BYTES:
            batch.messages.append(f"{name}: skipped, {size / 2**20:.0f} MB is over the {MAX_FILE_BYTES >> 20} MB limit per image.")
            continue
        if len(batch.images) >= MAX_IMAGES or total + size > MAX_BATCH_BYTES:
            left_out.append(name)
            continue
        try:
            head = read(SNIFF_BYTES)
            if not sniff_image(head) and size > len(head):  # long metadata before the frame header
                head = read()
        except (BadImage, OSError, zipfile.BadZipFile, RuntimeError, EOFError) as e:  # RuntimeError: encrypted / bad zip entry
            batch.messages.append(f"{name}: skipped, it could not be read ({e}).")
            continue
        if not sniff_image(head):
            batch.messages.append(f"{name}: skipped, not an image.")
            continue
        total += size
        batch.images.append(ImageFile(make_id(name), name, size, read))
    if left_out:
        why = f"the limit is {MAX_IMAGES} images and {MAX_BATCH_BYTES >> 20} MB per batch"
        shown = ", ".join(left_out[:5]) + (" …" if len(left_out) > 5 else "")
        batch.messages.append(f"{len(left_out)} more files were not opened ({why}): {shown}.")
    return batch
