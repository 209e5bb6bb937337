"""Storage: the workspace store, atomic file writes, log set-up."""

from .files import check_target, write_atomic
from .logs import log_file, setup_logging

__all__ = ["check_target", "log_file", "setup_logging", "write_atomic"]
