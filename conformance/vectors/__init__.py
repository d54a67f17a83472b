"""The vectors: JSON data (this folder's *.json, documented in VECTORS.md), the vector suite, the
parser suite and the transcript judge.
"""
