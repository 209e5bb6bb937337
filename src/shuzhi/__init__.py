"""shuzhi (述职): drafts and checks 抓基层党建工作述职报告 from terse notes.

The public API is `shuzhi.api`: a `Workspace` on a data directory with every job as a method, and
the result types. Its names are re-exported here.
"""

__version__ = "0.2.0"

from . import api  # noqa: E402  (api reads __version__)
from .api import *  # noqa: E402,F403
from .api import __all__ as _api_names  # noqa: E402

__all__ = ["api", *_api_names]
