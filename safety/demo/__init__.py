"""The demo study: a synthetic elacestrant + exemestane trial with planted safety events.

`generate_study` builds every record of the whole study with the date it reaches the EDC;
`write_study` writes one export as of a date (SDTM files + `manifest.json` naming what was planted);
`generate_scaled` builds a benchmark-sized study (millions of lab rows) with the same generators.
"""

from safety.demo.manifest import Manifest
from safety.demo.study import DemoStudy, generate_scaled, generate_study
from safety.demo.writer import export_tables, snapshot, write_study

__all__ = ["DemoStudy", "Manifest", "export_tables", "generate_scaled", "generate_study", "snapshot", "write_study"]
