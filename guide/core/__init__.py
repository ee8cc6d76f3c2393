"""The paper's mechanism and the leaves every layer shares: the guiding block, the split, backpropagation
from hints, the network's questions, the guided model, labels, hints, class names, metrics, settings.

Layer core of docs/architecture.md: imports only from the layers below it."""
