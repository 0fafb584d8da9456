"""The domain: plain functions on plain values. They add and flush; the caller commits."""
