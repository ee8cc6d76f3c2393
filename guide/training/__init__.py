"""Training a segmenter and text guides (the command line and the app's background job).

Layer training of docs/architecture.md: imports only from the layers below it."""
