"""The ``tune-jobs report`` report: sections chosen for the sweep, rendered as Markdown
(with PNG figures) and as one self-contained HTML page."""

from analysis.report.build import build_report

__all__ = ["build_report"]
