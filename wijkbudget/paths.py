"""Where the project lies on disk (templates, static files, translations are found from here)."""

from __future__ import annotations

from pathlib import Path

#: the project's root: the directory that holds ``wijkbudget/``, ``templates/`` and ``static/``
ROOT = Path(__file__).resolve().parent.parent
