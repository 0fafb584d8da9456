"""The request cycle: which rendition a request gets, rendering it, sessions, errors, logs."""
