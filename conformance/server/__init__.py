"""The server suite: runner, context, recording, follow-up verdicts and the checks by requirement
area.
"""
