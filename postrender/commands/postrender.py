"""Post-render mode: stdin -> stdout, the contract Helm expects of a post-renderer."""
from __future__ import annotations

import sys

from ..documents import decode
from ..errors import ConfigError
from ..pipeline import post_render
from ..plan import folder_warnings
from ..report import Reporter
from ..settings import Settings


def run_post_render(settings: Settings) -> int:
    if sys.stdin is None or sys.stdout is None:
        raise ConfigError(f"{'stdin' if sys.stdin is None else 'stdout'} is closed: Helm pipes the stream through stdin and stdout")
    reporter = Reporter(settings.log_file)
    try:
        data = sys.stdin.buffer.read()
    except OSError as exc:
        raise ConfigError(f"cannot read stdin: {exc.strerror or exc}") from None
    stream = decode(data)
    del data  # the stream keeps what it needs
    result = post_render(stream, settings)
    for warning in [*result.warnings, *folder_warnings(result.plan, settings.require_registry(), settings)]:
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
