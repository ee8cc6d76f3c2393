import numpy as np
import pytest

from guide.core.metrics import confusion_matrix, miou, per_class_iou, pixel_accuracy


def test_hand_computed_case():
    gt = np.array([[0, 0, 1], [1, 2, 255]])
    pred = np.array([[0, 1, 1], [1, 2, 0]])
    cm = confusion_matrix(pred, gt, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [0, 0, 1]]  # void pixel not counted
    # IoU: class0 1/(1+1+0)=0.5, class1 2/(2+1)=2/3, class2 1/1
    assert np.allclose(per_class_iou(cm), [0.5, 2 / 3, 1.0])
    assert miou(cm) == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert pixel_accuracy(cm) == pytest.approx(4 / 5)


def test_absent_classes_do_not_count():
    cm = confusion_matrix(np.array([0, 0]), np.array([0, 0]), 4)
    assert miou(cm) == 1.0
    assert np.isnan(per_class_iou(cm)[1:]).all()


def test_shape_and_range_errors():
    with pytest.raises(ValueError):
        confusion_matrix(np.zeros(3), np.zeros(4), 2)
    with pytest.raises(ValueError):
        confusion_matrix(np.array([5]), np.array([0]), 2)
