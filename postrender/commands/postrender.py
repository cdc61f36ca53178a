"""Post-render mode: stdin (or FILE arguments) -> stdout, the contract Helm expects of a post-renderer."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from ..documents import decode
from ..errors import ConfigError
from ..pipeline import post_render
from ..plan import exclude_warnings, folder_warnings
from ..report import PROG, Reporter
from ..settings import Settings


def run_post_render(settings: Settings, paths: Sequence[str] = ()) -> int:
    if sys.stdout is None or (sys.stdin is None and (not paths or "-" in paths)):
        raise ConfigError(f"{'stdout' if sys.stdout is None else 'stdin'} is closed: Helm pipes the stream through stdin and stdout")
    reporter = Reporter(settings.log_file)
    data = read_input(paths)
    stream = decode(data)
    del data  # the stream keeps what it needs
    result = post_render(stream, settings)
    for warning in [*result.warnings, *folder_warnings(result.plan, settings.require_registry(), settings),
                    *exclude_warnings(result.plan, settings)]:
        reporter.warning(warning)
    if settings.images_out is not None:
        from ..imagelist import dumps, list_path, write_atomically  # imported only when asked for (start-up time)

        listing = result.image_list(settings)
        content = dumps(listing)
        try:
            write_atomically(list_path(settings.images_out, content, listing), content)
        except OSError as exc:
            raise ConfigError(f"cannot write the image list {settings.images_out}: {exc.strerror or exc}") from None
    out = sys.stdout.buffer
    try:
        for chunk in result.chunks():  # everything is decided: writing can no longer fail half-way on our side
            out.write(chunk)
        out.flush()
    except BrokenPipeError:
        raise  # the reader went away: SIGPIPE's default action ends us quietly (cli.main)
    except OSError as exc:
        raise ConfigError(f"cannot write stdout: {exc.strerror or exc}") from None
    return 0


def read_input(paths: Sequence[str]) -> bytes:
    """The stream: stdin (no path, or ``-``), else the files one after another, each starting a
    new document.  A terminal on stdin gets told how the command is used instead of a silent wait."""
    if not paths and sys.stdin.isatty():
        raise ConfigError(
            "post-render mode reads the rendered stream from stdin or FILE arguments, and stdin is a terminal: "
            f"run `helm template ... | {PROG} --registry HOST ...`, `{PROG} --registry HOST ... rendered.yaml`, "
            f"or let Helm run it (`helm install --post-renderer {PROG} ...`); `{PROG} --help` lists the options")
    chunks: list[bytes] = []
    for path in paths or ["-"]:
        try:
            chunk = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read {'stdin' if path == '-' else path}: {exc.strerror or exc}") from None
        if chunks:
            chunk = chunk.removeprefix(b"\xef\xbb\xbf")  # a BOM is only valid at the start of the stream
            chunks.append((b"" if chunks[-1].endswith(b"\n") else b"\n") + (b"" if chunk.startswith(b"---") else b"---\n"))
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)  # one input is never copied
