"""Segmentation metrics from a confusion matrix: mIoU and pixel accuracy (void 255 ignored)."""

from __future__ import annotations

import numpy as np

from guide.core.labels import VOID


def confusion_matrix(pred: np.ndarray, gt: np.ndarray, num_classes: int, ignore_index: int = VOID) -> np.ndarray:
    """KxK counts, rows = ground truth class, columns = predicted class.

    pred, gt: integer arrays of the same shape (e.g. HxW); pixels where gt is
    ``ignore_index`` are not counted.
    """
    pred = np.asarray(pred).astype(np.int64).ravel()
    gt = np.asarray(gt).astype(np.int64).ravel()
    if pred.shape != gt.shape:
        raise ValueError(f"prediction has {pred.size} pixels but ground truth has {gt.size}")
    keep = gt != ignore_index
    pred, gt = pred[keep], gt[keep]
    if pred.size and (pred.min() < 0 or pred.max() >= num_classes or gt.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}) or be {ignore_index}")
    return np.bincount(gt * num_classes + pred, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_iou(cm: np.ndarray) -> np.ndarray:
    """IoU per class (K); NaN for classes absent from both ground truth and prediction."""
    tp = np.diag(cm).astype(np.float64)
    union = cm.sum(0) + cm.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / union, np.nan)


def miou(cm: np.ndarray) -> float:
    """Mean IoU over the classes that occur (in ground truth or prediction)."""
    iou = per_class_iou(cm)
    return float(np.nanmean(iou)) if np.any(~np.isnan(iou)) else float("nan")


def pixel_accuracy(cm: np.ndarray) -> float:
    """Fraction of labelled pixels predicted correctly."""
    total = cm.sum()
    return float(np.trace(cm) / total) if total else float("nan")
