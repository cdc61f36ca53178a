"""Post-render mode: stdin -> stdout, the contract Helm expects of a post-renderer."""
from __future__ import annotations

import sys

from ..documents import decode
from ..imagelist import dumps, write_atomically
from ..pipeline import post_render
from ..report import Reporter
from ..settings import Settings


def run_post_render(settings: Settings) -> int:
    reporter = Reporter(settings.log_file)
    stream = decode(sys.stdin.buffer.read())
    result = post_render(stream, settings)
    for warning in result.warnings:
        reporter.warning(warning)
    if settings.images_out is not None:
        write_atomically(settings.images_out, dumps(result.image_list(settings)))
    out = sys.stdout.buffer
    for chunk in result.chunks():  # everything is decided: writing can no longer fail half-way on our side
        out.write(chunk.encode("utf-8"))
    out.flush()
    return 0
