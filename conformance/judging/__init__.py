"""The judging layer: the check registry, results and verdicts, redaction and the secret-spelling
generator.
"""
