"""Data sets on disk: images in, label maps and conversations out; durable state of a server.

Layer annotation of docs/architecture.md: imports only from the layers below it."""
