"""The reporting layer: report.json, JUnit, HTML, reproduction scripts and the text
formatter."""
