"""Data sets: the embedded scenes benchmark and readers for real data sets."""
from guide.data.scenes import CLASSES, PALETTE, VOID, SceneDataset
