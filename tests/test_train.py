"""Tests of segmenter training (guide/training/segmenter.py) and its resumable state (guide/training/state.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from guide.data.fashion_mnist import fashion_mnist_available
from guide.training.state import load_state, save_state

needs_scenes = pytest.mark.skipif(not fashion_mnist_available(),
                                  reason="Fashion-MNIST missing: apt-get install dataset-fashion-mnist")


def test_state_round_trip_restores_model_and_optimizer(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    x = torch.randn(8, 4)
    for _ in range(3):
        opt.zero_grad()
        net(x).square().mean().backward()
        opt.step()
    save_state(tmp_path, net, opt, {"step": 3, "seconds": 1.5})

    clone = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    clone_opt = torch.optim.AdamW(clone.parameters(), lr=1e-2)
    assert load_state(tmp_path, clone, clone_opt, torch.device("cpu")) == {"step": 3, "seconds": 1.5}
    for a, b in zip(net.state_dict().values(), clone.state_dict().values()):
        assert torch.equal(a, b)
    # One more step from either copy lands on the same weights: the optimizer's moments came back.
    for n, o in ((net, opt), (clone, clone_opt)):
        o.zero_grad()
        n(x).square().mean().backward()
        o.step()
    for a, b in zip(net.parameters(), clone.parameters()):
        assert torch.equal(a, b)
    assert not list(tmp_path.glob("*.tmp.*"))  # written under a temporary name, then renamed


@needs_scenes
def test_train_segmenter_resumes_as_if_uninterrupted(tmp_path: Path) -> None:
    from guide.models.hub import load_model
    from guide.training.segmenter import main

    def args(name: str, steps: int) -> list[str]:
        return ["--arch", "lraspp_mobilenet_v3_large", "--size", "64", "--batch", "2", "--threads", "1",
                "--save-every", "1", "--steps", str(steps), "--out", str(tmp_path / name),
                "--work-dir", str(tmp_path / f"work-{name}")]

    main(args("straight", 4))
    main(args("resumed", 4) + ["--stop-at", "2"])
    assert json.loads((tmp_path / "work-resumed" / "state.json").read_text())["step"] == 2
    main(args("resumed", 4) + ["--resume"])
    assert json.loads((tmp_path / "work-resumed" / "state.json").read_text())["step"] == 4

    straight = load_file(str(tmp_path / "straight" / "model.safetensors"))
    resumed = load_file(str(tmp_path / "resumed" / "model.safetensors"))
    assert straight.keys() == resumed.keys()
    for k in straight:
        torch.testing.assert_close(resumed[k], straight[k], rtol=1e-4, atol=1e-5, msg=k)
    # Training moved the weights, and the folder loads as a guided model.
    from guide.models.architectures import build_segmenter

    model = load_model(tmp_path / "straight")
    torch.manual_seed(0)
    init = build_segmenter("lraspp_mobilenet_v3_large", len(model.classes)).state_dict()
    assert not torch.equal(init["backbone.0.0.weight"], straight["backbone.0.0.weight"])


def test_agree_to_stop_without_distributed_is_the_rank_own_wish() -> None:
    from guide.training.state import agree_to_stop

    assert agree_to_stop(True, torch.device("cpu")) is True
    assert agree_to_stop(False, torch.device("cpu")) is False


def _agree_rank(rank: int, store_file: str, results: str) -> None:
    import torch.distributed as dist

    from guide.training.state import agree_to_stop

    dist.init_process_group("gloo", store=dist.FileStore(store_file, 2), rank=rank, world_size=2)
    try:
        # Only rank 1 hit its time limit; then neither rank did.
        agreed = [agree_to_stop(rank == 1, torch.device("cpu")), agree_to_stop(False, torch.device("cpu"))]
        Path(results, str(rank)).write_text(json.dumps(agreed))
    finally:
        dist.destroy_process_group()


def test_agree_to_stop_stops_every_rank_when_one_wants_to(tmp_path: Path) -> None:
    # Two gloo ranks (forked: no second torch import). A rank that stopped alone would
    # leave the other waiting forever in its next all-reduce.
    import torch.multiprocessing as mp

    mp.start_processes(_agree_rank, args=(str(tmp_path / "store"), str(tmp_path)), nprocs=2, start_method="fork")
    assert [json.loads((tmp_path / str(r)).read_text()) for r in range(2)] == [[True, False], [True, False]]


def test_cosine_lr_follows_steps_or_the_time_limit_whichever_is_further() -> None:
    from guide.training.state import cosine_lr

    assert cosine_lr(1.0, 0, 10, 0.0, None) == 1.0
    assert cosine_lr(1.0, 5, 10, 0.0, None) == pytest.approx(0.5)
    assert cosine_lr(1.0, 10, 10, 0.0, None) == pytest.approx(0.0)
    assert cosine_lr(1.0, 1, 10, 30.0, 60.0) == pytest.approx(0.5)  # half the time gone, a tenth of the steps
    assert cosine_lr(1.0, 1, 10, 90.0, 60.0) == pytest.approx(0.0)  # past the limit: stays at 0
