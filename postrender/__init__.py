"""civitas-postrender: rewrite every container image in a Helm-rendered stream to a private registry."""
from __future__ import annotations

__version__ = "0.1.0"
