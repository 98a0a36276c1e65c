"""One logging configuration for the app, the CLI, the job threads and the sandbox runner.

Records go to a rotating file, ``PINEOPT_HOME/logs/pineopt.log`` (5 MB x 3), at
``PINEOPT_LOG_LEVEL`` (default INFO), and to stderr from WARNING up (so the CLI's own output
stays clean). Modules log through ``logging.getLogger("pineopt.<module>")``; entry points call
``configure`` once (calling it again with another home moves the file handler).
"""

from __future__ import annotations

import logging
import logging.handlers
import sys

from core.settings import Settings

ROOT = "pineopt"
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"
_FILE_TAG = "_pineopt_file"
_STDERR_TAG = "_pineopt_stderr"


def configure(settings: Settings) -> logging.Logger:
    """Attach the file and stderr handlers to the ``pineopt`` logger (idempotent)."""
    logger = logging.getLogger(ROOT)
    logger.setLevel(settings.log_level)
    logger.propagate = True  # pytest and embedding apps still see the records
    target = settings.home / "logs" / "pineopt.log"
    for handler in list(logger.handlers):
        if getattr(handler, _FILE_TAG, None) not in (None, str(target)):
            logger.removeHandler(handler)
            handler.close()
    tags = {getattr(h, _FILE_TAG, None) or getattr(h, _STDERR_TAG, None) for h in logger.handlers}
    if str(target) not in tags:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            file_handler = logging.handlers.RotatingFileHandler(
                target, maxBytes=5_000_000, backupCount=3, encoding="utf-8", delay=True)
        except OSError:  # an unwritable home: stderr still gets warnings and errors
            file_handler = None
        if file_handler is not None:
            file_handler.setFormatter(logging.Formatter(FORMAT))
            setattr(file_handler, _FILE_TAG, str(target))
            logger.addHandler(file_handler)
    if "stderr" not in tags:
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setLevel(max(logging.WARNING, logging.getLevelName(settings.log_level)))
        stderr.setFormatter(logging.Formatter("pineopt %(levelname)s %(name)s: %(message)s"))
        setattr(stderr, _STDERR_TAG, "stderr")
        logger.addHandler(stderr)
    return logger
