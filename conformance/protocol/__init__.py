"""The protocol layer: records and their renderings, outbound requests (wire) and the strategies
that draw them.
"""
