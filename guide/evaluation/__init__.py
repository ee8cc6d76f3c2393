"""Simulated people and the evaluations of the paper and of annotation effort.

Layer evaluation of docs/architecture.md: imports only from the layers below it."""
