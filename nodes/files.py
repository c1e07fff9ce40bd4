"""Files: reading text, and writing it atomically. Relative paths resolve against the
folder of the workflow file, never the current directory."""

from __future__ import annotations

import codecs
import errno
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from engine import (
    Node,
    NodeConfig,
    NodeContext,
    NodeError,
    OutsideRootsError,
    Port,
    in_thread,
    read_regular,
    write_text_atomic,
)

if TYPE_CHECKING:
    from engine import Graph

PATH_HELP = "Absolute, or relative to the workflow file's folder"
MAX_READ_BYTES = 64 * 1024 * 1024


def check_encoding(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    encoding = config.get("encoding")
    if not isinstance(encoding, str) or "{{" in encoding:
        return []
    try:
        codecs.lookup(encoding)
    except LookupError:
        return [("encoding", f"unknown text encoding {encoding!r} (e.g. utf-8, latin-1, "
                             "utf-16)")]
    return []


def target(ctx: NodeContext, path: str | None) -> Path:
    if not path:
        raise NodeError("no path: set the path field or wire a value to the path input",
                        retryable=False)
    return ctx.resolve_path(path)


def os_error(error: OSError, action: str, path: Path) -> NodeError:
    """A clear message for what usually goes wrong with files; none of it is retried
    except unexpected I/O trouble (a flaky network drive, say)."""
    if isinstance(error, FileNotFoundError):
        return NodeError(f"cannot {action} {path}: it does not exist (relative paths "
                         "start at the workflow file's folder)", retryable=False)
    if isinstance(error, IsADirectoryError):
        return NodeError(f"cannot {action} {path}: it is a folder, not a file",
                         retryable=False)
    if isinstance(error, NotADirectoryError):
        return NodeError(f"cannot {action} {path}: a part of the path is a file, not a "
                         "folder", retryable=False)
    if isinstance(error, OutsideRootsError):
        return NodeError(f"cannot {action} {path}: {error.strerror}", retryable=False)
    if isinstance(error, PermissionError):
        return NodeError(f"cannot {action} {path}: permission denied", retryable=False)
    if error.errno in (errno.EINVAL, errno.EFBIG):  # not a regular file, too large
        return NodeError(f"cannot {action} {path}: {error.strerror}", retryable=False)
    return NodeError(f"cannot {action} {path}: {error.strerror or error}", retryable=True)


class Read(Node):
    type = "file.read"
    cacheable = False  # the file may change between runs; its content keys what follows
    remote_capable = True  # on a worker, the path must be there too (shared)
    summary_fields = ("path",)
    title = "Read file"
    category = "Files"
    icon = "file_read"
    description = ("Reads a text file. A relative path starts at the workflow file's folder; "
                   "only files in that folder (and below) or in folders you allow are read.")
    inputs = (Port("path", "string", description=PATH_HELP),)
    outputs = (Port("text", "string"),)

    class Config(NodeConfig):
        path: str | None = Field(None, description=PATH_HELP)
        encoding: str = Field("utf-8", description="Text encoding of the file")
        max_bytes: int = Field(MAX_READ_BYTES, ge=1, description=(
            "Refuse files larger than this many bytes (the whole file is held in memory)"))

    @classmethod
    def check(cls, config: Mapping[str, Any], graph: Graph, *,
              top_level: bool) -> list[tuple[str, str]]:
        return check_encoding(config)

    async def run(self, ctx: NodeContext, path: str | None = None) -> dict[str, Any]:
        file = target(ctx, path)
        encoding = self.config.encoding
        try:
            data = await in_thread(read_regular, file, max_bytes=self.config.max_bytes,
                                   limit_hint="raise max_bytes in the node's config to read it")
        except OSError as e:
            raise os_error(e, "read", file) from None
        try:
            return {"text": data.decode(encoding)}
        except UnicodeDecodeError as e:
            raise NodeError(f"{file} is not {encoding} text (byte {e.start}: {e.reason}); "
                            "set encoding to the file's encoding", retryable=False) from None
        except LookupError:
            raise NodeError(f"unknown text encoding {encoding!r}", retryable=False) from None


class Write(Node):
    type = "file.write"
    cacheable = False  # a side effect
    summary_fields = ("path",)
    title = "Write file"
    category = "Files"
    icon = "file_write"
    description = ("Writes text to a file, replacing it atomically (a reader sees the old "
                   "file or the new one, never half of it), and outputs the absolute path. "
                   "A relative path starts at the workflow file's folder.")
    inputs = (Port("path", "string", description=PATH_HELP), Port("text", "string"))
    outputs = (Port("path", "string", description="The absolute path written"),)

    class Config(NodeConfig):
        path: str | None = Field(None, description=PATH_HELP)
        text: str | None = Field(None, description="Used when nothing is wired to text")
        encoding: str = Field("utf-8", description="Text encoding to write")
        create_folders: bool = Field(False, description="Create missing parent folders")

    @classmethod
    def check(cls, config: Mapping[str, Any], graph: Graph, *,
              top_level: bool) -> list[tuple[str, str]]:
        return check_encoding(config)

    async def run(self, ctx: NodeContext, path: str | None = None,
                  text: str | None = None) -> dict[str, Any]:
        file = target(ctx, path)
        if text is None:
            raise NodeError("no text: set the text field or wire a value to the text input",
                            retryable=False)
        encoding = self.config.encoding
        try:
            text.encode(encoding)  # before touching the disk: a clear message, no temp file
        except UnicodeEncodeError as e:
            raise NodeError(f"the text cannot be written as {encoding} (character "
                            f"{e.object[e.start:e.end]!r} at {e.start}); choose another "
                            "encoding such as utf-8", retryable=False) from None
        except LookupError:
            raise NodeError(f"unknown text encoding {encoding!r}", retryable=False) from None
        create_folders = self.config.create_folders

        def write() -> None:  # every file system call off the loop: a drive may hang
            if file.is_dir():
                raise IsADirectoryError()
            if file.exists() and not file.is_file():  # a device or FIFO: never replaced
                raise OSError(errno.EINVAL, "it is not a regular file (a device, FIFO or "
                              "socket); only regular files are written")
            if create_folders:
                file.parent.mkdir(parents=True, exist_ok=True)
            elif not file.parent.is_dir():
                raise NodeError(f"cannot write {file}: the folder {file.parent} does not exist "
                                "(set create_folders to make it)", retryable=False)
            write_text_atomic(file, text, encoding)

        try:
            await in_thread(write)
        except OSError as e:
            raise os_error(e, "write", file) from None
        return {"path": str(file)}  # already resolved by resolve_path
