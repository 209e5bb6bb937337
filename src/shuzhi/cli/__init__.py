"""The `shuzhi` command: a thin shell over `shuzhi.api`."""

from .parser import build_parser, main

__all__ = ["build_parser", "main"]
