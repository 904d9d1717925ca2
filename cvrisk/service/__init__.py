"""The CDS Hooks 2.0.1 service (``cvrisk serve``): an ASGI app (Starlette on uvicorn).

Needs the ``service`` extra (``pip install 'cvrisk[service]'``): Starlette, uvicorn, httpx,
PyJWT with cryptography, pydantic-settings. Nothing here is imported by ``import cvrisk``.

- :func:`cvrisk.service.app.create_app`: the app for given settings (tests, embedding);
- :func:`cvrisk.service.server.serve`: run it with worker processes;
- :func:`cvrisk.service.settings.load_settings`: settings from flags, environment, file.

See docs/integrators.md.
"""

from __future__ import annotations
