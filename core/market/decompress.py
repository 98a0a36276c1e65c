"""Unpacking imported files within limits: zip and gzip, checked while streaming.

A small compressed file can inflate to gigabytes (a "zip bomb"). Every member is refused before
it is read when its declared size or ratio is over the limits (zipfile never inflates a member
past its declared size), and the bytes actually produced are counted while decompressing, so
neither a zip nor a gzip stream ever holds more than the limits in memory.
"""

from __future__ import annotations

import io
import zipfile
import zlib

from core.errors import DataError

UPLOAD_MAX_MB = 200  # the one upload limit: Data page, Streamlit's server.maxUploadSize, README
MAX_IMPORT_MB = 2048  # a file read from disk by the CLI, and all members of one file unpacked
MAX_RATIO = 100  # unpacked bytes per packed byte; market-data CSV packs about 3-10 to 1
_CHUNK = 1 << 20
_MEMBER_SUFFIXES = (".csv", ".txt", ".json", ".parquet")


def _bomb(name: str, why: str) -> DataError:
    return DataError(f"{name}: {why}, over the import limits ({MAX_IMPORT_MB} MB unpacked, "
                     f"{MAX_RATIO}:1 packing). It looks like a decompression bomb or is too big "
                     "to import at once: unpack it yourself and import the files one by one, or "
                     "split it.")


class _Budget:
    """Unpacked bytes left for one imported file."""

    def __init__(self, name: str) -> None:
        self.name, self.left = name, MAX_IMPORT_MB << 20

    def take(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise _bomb(self.name, f"unpacks to more than {MAX_IMPORT_MB} MB")


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str,
                 budget: _Budget) -> bytes:
    if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > _CHUNK:
        raise _bomb(label, f"{info.compress_size:,} bytes unpack to {info.file_size:,}")
    budget.take(info.file_size)
    out = bytearray()
    with archive.open(info) as stream:  # stops at the declared size, checks the CRC
        while chunk := stream.read(_CHUNK):
            out += chunk
            if len(out) > info.file_size:
                raise _bomb(label, "a member unpacks to more than its declared size")
    return bytes(out)


def unzip(name: str, data: bytes, *, first_only: bool = False) -> list[tuple[str, bytes]]:
    """Each data file (.csv .txt .json .parquet) of a zip as (``name:member``, bytes), within
    the limits. Raises DataError for a broken zip, no data file, or a bomb."""
    budget = _Budget(name)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = sorted((i for i in archive.infolist()
                            if i.filename.lower().endswith(_MEMBER_SUFFIXES)
                            and not i.filename.startswith("__MACOSX")),
                           key=lambda i: i.filename)
            if first_only:
                infos = infos[:1]
            members = [(f"{name}:{i.filename}", _read_member(archive, i, f"{name}:{i.filename}",
                                                             budget)) for i in infos]
    except (zipfile.BadZipFile, zlib.error, EOFError):
        raise DataError(f"{name}: not a valid zip archive; download it again.") from None
    if not members:
        raise DataError(f"{name}: the zip holds no .csv, .json or .parquet file.")
    return members


def gunzip(name: str, data: bytes) -> bytes:
    """The content of a .gz file, within the limits (counted while it inflates)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    budget, out, view = _Budget(name), bytearray(), memoryview(data)
    fed = 0
    pending: bytes | memoryview = b""
    try:
        while not inflater.eof:
            if not pending:
                if fed >= len(data):
                    break
                pending = view[fed:fed + 65536]
                fed += len(pending)
            piece = inflater.decompress(pending, _CHUNK)
            pending = inflater.unconsumed_tail
            budget.take(len(piece))
            out += piece
            consumed = fed - len(pending)
            if len(out) > _CHUNK and len(out) > MAX_RATIO * max(consumed, 1):
                raise _bomb(name, f"{consumed:,} bytes unpack to more than {len(out):,}")
    except zlib.error:
        raise DataError(f"{name}: not a valid gzip file; download it again.") from None
    if not inflater.eof:
        raise DataError(f"{name}: the gzip file is cut short; download it again.")
    return bytes(out)
