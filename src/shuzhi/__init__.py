"""shuzhi (述职): drafts and checks 抓基层党建工作述职报告 from terse notes."""

__version__ = "0.1.0"
