"""A server's many tabs over one model: the pool, what a page sends, pictures, Gradio's cache, Space deploys.

Layer serving of docs/architecture.md: imports only from the layers below it."""
