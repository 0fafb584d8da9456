"""Helpers and fixtures the tests share (no tests here): pages (CSRF tokens, form fields),
buyers (the order form, register, log in), staff (accounts, back-office log in), fulfilment
(the shop, orders walked through the back office) and history (the reports' worked example).
conftest.py makes the shared fixtures available to every test."""
