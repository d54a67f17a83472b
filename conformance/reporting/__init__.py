"""The reporting layer: report.json (document), JUnit (junit), HTML (html),
reproduction scripts (scripts), all written by files.write_reports, and the
text helpers (text: printable and the one failure formatter)."""
