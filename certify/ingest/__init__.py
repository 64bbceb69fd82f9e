"""Exports into the database: files and encodings, tables and cells, one all-or-nothing import."""
