"""An uploaded import file, kept as ordered chunks of text with its job and read as a stream.

`store_upload` decodes the upload piece by piece (UTF-8, with or without a BOM, else
Windows-1252, as spreadsheets write them) into ImportFileChunk rows of about a
megabyte; `iter_lines` gives the text back line by line, one chunk in memory at a
time, for csv.reader; `head_text` is the beginning, for the column-mapping step. A
file of a million rows is never one string in memory, in the web process or the
worker, and lives in PostgreSQL with its job, so any worker can read it.
"""

import codecs
from collections.abc import Iterable, Iterator

from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from customers.models import ImportFileChunk, ImportJob

CHUNK_CHARS = 1_000_000
HEAD_CHARS = 64 * 1024
ENCODINGS = ("utf-8-sig", "cp1252")


class UnreadableFile(Exception):
    """The upload is not a text file the import can read; the message says why."""


def store_upload(job: ImportJob, upload: UploadedFile) -> None:
    """Store the upload's text as the job's chunks, or raise UnreadableFile.

    Tried as UTF-8 first; a byte that is not UTF-8 starts again as Windows-1252 (which
    decodes nearly anything), so a file is never stored half in one encoding.
    """
    for encoding in ENCODINGS:
        upload.seek(0)
        try:
            _store_pieces(job, _decoded(upload.chunks(), encoding))
            return
        except UnicodeDecodeError:
            ImportFileChunk.objects.filter(job=job).delete()
    raise UnreadableFile(_("The file is not text in a known encoding."))  # pragma: no cover


def store_text(job: ImportJob, text: str) -> None:
    """Store text as the job's file (files made by the app itself, and tests)."""
    pieces = (text[start : start + CHUNK_CHARS] for start in range(0, len(text), CHUNK_CHARS))
    _store_pieces(job, pieces)


def _decoded(pieces: Iterable[bytes], encoding: str) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(encoding)()
    for piece in pieces:
        yield decoder.decode(piece)
    yield decoder.decode(b"", final=True)


def _store_pieces(job: ImportJob, pieces: Iterable[str]) -> None:
    index = 0
    size = 0
    buffer: list[str] = []
    buffered = 0
    has_text = False
    for piece in pieces:
        if not piece:
            continue
        if "\x00" in piece:
            raise UnreadableFile(_("This looks like a binary file, not a CSV file."))
        has_text = has_text or bool(piece.strip())
        buffer.append(piece)
        buffered += len(piece)
        if buffered >= CHUNK_CHARS:
            _write_chunk(job, index, "".join(buffer))
            index, size, buffer, buffered = index + 1, size + buffered, [], 0
    if buffer:
        _write_chunk(job, index, "".join(buffer))
        size += buffered
    if not has_text:
        raise UnreadableFile(_("The file is empty."))
    ImportJob.objects.filter(pk=job.pk).update(size=size)
    job.size = size


def _write_chunk(job: ImportJob, index: int, text: str) -> None:
    ImportFileChunk.objects.create(job=job, index=index, text=text)


def iter_chunks(job: ImportJob) -> Iterator[str]:
    """The file's text, a chunk at a time (one query per chunk: one chunk in memory)."""
    indexes = list(
        ImportFileChunk.objects.filter(job=job).order_by("index").values_list("index", flat=True)
    )
    for index in indexes:
        yield ImportFileChunk.objects.values_list("text", flat=True).get(job=job, index=index)


def iter_lines(job: ImportJob) -> Iterator[str]:
    """The file's lines with their line ends, as csv.reader reads them (a BOM removed).

    Split on "\\n" only, so a quoted cell's line break inside a chunk boundary or a
    "\\r\\n" pair stays for csv.reader to join.
    """
    carry = ""
    first = True
    for text in iter_chunks(job):
        if first:
            text = text.removeprefix("\ufeff")
            first = False
        parts = (carry + text).split("\n")
        carry = parts.pop()
        for part in parts:
            yield part + "\n"
    if carry:
        yield carry


def head_text(job: ImportJob, max_chars: int = HEAD_CHARS) -> str:
    """The file's first characters (a BOM removed), for the header and sample rows."""
    first = (
        ImportFileChunk.objects.filter(job=job)
        .order_by("index")
        .values_list("text", flat=True)
        .first()
    )
    return (first or "")[: max_chars + 1].removeprefix("\ufeff")[:max_chars]
