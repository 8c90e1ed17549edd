"""Where streamed artifacts land: a local file or an object storage path, written all or nothing."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["open_sink"]


def _is_object_storage(destination: Any) -> bool:
    return hasattr(destination, "fs") and hasattr(destination, "open")


@contextlib.contextmanager
def open_sink(destination: Any) -> Iterator[IO[bytes]]:
    """
    Open a destination for writing so that it appears whole or not at all.

    A local path is written to a temporary file beside it and renamed into place; an object storage
    path (anything with ``fs`` and ``open``, such as ``ObjectStoragePath``) is written to a
    ``.part`` sibling and moved. On failure the partial file is removed.

    :param destination: A ``str``/``os.PathLike`` path or an ``ObjectStoragePath``.
    :return: A binary file object to write the body to.
    """
    if _is_object_storage(destination):
        part = destination.with_name(destination.name + ".part")
        try:
            with part.open("wb") as handle:
                yield handle
            part.rename(destination)
        except BaseException:
            with contextlib.suppress(Exception):
                part.unlink()
            raise
        return
    final = Path(os.fspath(destination))
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(temporary, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
