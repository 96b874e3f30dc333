"""The deterministic synthetic caseload behind `ehcp-monitor demo-data` and the demo."""

from ehcp_monitor.synthetic.generate import generate
from ehcp_monitor.synthetic.writers import FORMATS, write_extract

__all__ = ["FORMATS", "generate", "write_extract"]
