"""Post-render mode: stdin (or FILE arguments) -> stdout, the contract Helm expects of a post-renderer."""
from __future__ import annotations

import sys
from collections.abc import Sequence

from ..documents import decode
from ..errors import ConfigError
from ..outfile import pending_output, write_stdout
from ..pipeline import post_render
from ..readall import read_all
from ..plan import exclude_warnings, folder_warnings
from ..report import PROG, Reporter
from ..settings import Settings
from ..summary import summary


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
    if settings.images_out is None:
        write_stdout(result.chunks())  # everything is decided: writing can no longer fail half-way on our side
        reporter.summary(summary(result.plan, result.findings))
        return 0
    from ..imagelist import dumps, list_path  # imported only when asked for (start-up time)

    listing = result.image_list(settings)
    content = dumps(listing)
    # The list is ready beside its target first, and put in place only once stdout is written whole.
    with pending_output(list_path(settings.images_out, content, listing), content, "the image list") as image_list:
        write_stdout(result.chunks())
        image_list.commit()
    reporter.summary(summary(result.plan, result.findings))
    return 0


def read_input(paths: Sequence[str]) -> bytes:
    """The stream: stdin (no path, or ``-``), else the files one after another, each starting a
    new document.  A terminal on stdin gets told how the command is used instead of a silent wait."""
    if not paths and sys.stdin.isatty():
        raise ConfigError(
            "post-render mode reads the rendered stream from stdin or FILE arguments, and stdin is a terminal: "
            f"run `helm template ... | {PROG} --registry HOST ...`, `{PROG} --registry HOST ... rendered.yaml`, "
            f"or let Helm run it (`helm install --post-renderer {PROG} ...`); `{PROG} --help` lists the options")
    if list(paths).count("-") > 1:  # as images and check say: stdin has one stream
        raise ConfigError("'-' (stdin) given more than once")
    chunks: list[bytes] = []
    for path in paths or ["-"]:
        try:
            chunk = read_all(path, "stdin" if path == "-" else path)
        except OSError as exc:
            raise ConfigError(f"cannot read {'stdin' if path == '-' else path}: {exc.strerror or exc}") from None
        if chunks:
            chunk = chunk.removeprefix(b"\xef\xbb\xbf")  # a BOM is only valid at the start of the stream
            chunks.append((b"" if chunks[-1].endswith(b"\n") else b"\n") + (b"" if chunk.startswith(b"---") else b"---\n"))
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)  # one input is never copied
