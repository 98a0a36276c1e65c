"""Strategies: CRUD and versions, the library table, uploaded files, the examples gallery,
parameters, and static validation with its rules."""
