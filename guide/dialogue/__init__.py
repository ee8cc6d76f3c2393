"""One image's dialogue: the guided session (hints in, label map out) and the conversation that words it,
the hand tools and what each action costs a person.

Layer dialogue of docs/architecture.md: imports only from the layers below it."""
