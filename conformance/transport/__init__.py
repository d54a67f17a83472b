"""The transport layer: the kit's bounded HTTP client, response framing and decoding, the loopback
host and the process supervisor.
"""
