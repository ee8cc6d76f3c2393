"""An annotated data set to a Hugging Face dataset repo of the annotator's own.

What is pushed is the data set folder as it is (guide/annotation/dataset.py: VOC ``JPEGImages/``,
``SegmentationClass/``, ``ImageSets/``, ``labelmap.txt``, COCO ``coco.json``, the
conversations) plus two files that make it a Hub dataset ``datasets.load_dataset`` reads
(the imagefolder layout):

* ``metadata.jsonl``: one line per saved image, ``{"file_name": "JPEGImages/<id>.jpg",
  "label_file_name": "SegmentationClass/<id>.png", "id", "split"}`` (``label`` becomes a
  second image column: the palette PNG, pixel = class index, 255 = void; ``split`` is
  train or val as in ImageSets/Segmentation/);
* ``README.md``: a dataset card naming the classes, the model and the layout.

The card's ``configs`` name those files as the one ``train`` split (without it, ``datasets``
would read ``ImageSets/Segmentation/train.txt`` as a split of its own and find no images).
So ``load_dataset("owner/name", split="train")`` (or ``load_dataset(folder, split="train")``
on the unzipped download) gives image, label, id, split rows; images not saved yet are
not rows (they are in JPEGImages/ for the next session).

On a Space the annotator signs in with Hugging Face (``gr.LoginButton``); their OAuth
token (scope ``write-repos``) is what pushes, to a repo under their own name. Without a
token nothing is pushed and the message says to sign in.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from guide.annotation.dataset import IMAGES, LABELS, LISTS, AnnotationDataset, atomic_write
from guide.core.errors import UserError

METADATA = "metadata.jsonl"
CARD = "README.md"
SIGN_IN = ("Sign in with Hugging Face first (the button above), then push: the data set goes to a dataset repo "
           "under your own account. Nothing was pushed.")
REPO_NAME = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/)?[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")


def write_hub_files(ds: AnnotationDataset) -> list[Path]:
    """Write ``metadata.jsonl`` and ``README.md`` into the data set folder (made again each
    push or download: they follow the saves). Returns their paths."""
    val = set((ds.root / LISTS / "val.txt").read_text().split()) if (ds.root / LISTS / "val.txt").is_file() else set()
    lines = []
    for image_id in ds.ids:
        if (ds.root / LABELS / f"{image_id}.png").is_file():
            lines.append(json.dumps({"file_name": f"{IMAGES}/{image_id}.jpg", "label_file_name": f"{LABELS}/{image_id}.png",
                                     "id": image_id, "split": "val" if image_id in val else "train"}) + "\n")
    meta = ds.root / METADATA
    atomic_write(meta, "".join(lines).encode("utf-8"))
    model = ds.manifest.get("model", {})
    classes = "\n".join(f"| {k} | {name} | {tuple(ds.palette[k])} |" for k, name in enumerate(ds.classes))
    card = f"""---
task_categories:
- image-segmentation
tags:
- guide-me
- pascal-voc
- coco
configs:
- config_name: default
  data_files:
  - split: train
    path:
    - {METADATA}
    - {IMAGES}/*.jpg
    - {LABELS}/*.png
---
# Semantic segmentation labels made with Guide Me

{len(lines)} labelled images ({ds.progress_text()}), annotated with the model
“{model.get('name') or 'unnamed'}” ({model.get('source') or 'unknown source'}) and corrected by hand.

```python
from datasets import load_dataset
rows = load_dataset("<this repo>", split="train")   # image, label (palette PNG: pixel = class index, 255 = void), id, split
```

The same files as PASCAL VOC (`JPEGImages/`, `SegmentationClass/`, `ImageSets/Segmentation/{{train,val,trainval}}.txt`,
`labelmap.txt`) and COCO (`coco.json`, one RLE annotation per class per image; category id = pixel value).
`conversations/` holds each image's dialogue with the network, to reopen it in Guide Me.

| index | class | colour |
|---|---|---|
{classes}
| 255 | void (unsure) | |
"""
    atomic_write(ds.root / CARD, card.encode("utf-8"))
    return [meta, ds.root / CARD]


def push_dataset(ds: AnnotationDataset, repo: str, token: Any, private: bool = True) -> str:
    """Upload the data set to the dataset repo ``repo`` ("name": under the token's account,
    or "owner/name") with ``token`` (a ``gr.OAuthToken``, or a token string); made if new,
    private by default. Returns the repo's URL; UserError with a message otherwise."""
    token = getattr(token, "token", token)
    if not token:
        raise UserError(SIGN_IN)
    repo = (repo or "").strip() or "guide-me-dataset"
    if not REPO_NAME.match(repo) or ".." in repo:
        raise UserError(f"“{repo[:100]}” is not a repo name: letters, digits, '-', '_' and '.', as name or owner/name. Nothing was pushed.")
    if not len(ds):
        raise UserError("The data set is empty: open some images first. Nothing was pushed.")
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    try:
        if "/" not in repo:
            repo = f"{api.whoami()['name']}/{repo}"
        api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True)
        write_hub_files(ds)
        api.upload_folder(folder_path=str(ds.root), repo_id=repo, repo_type="dataset", ignore_patterns=[".*", "**/.*"],
                          commit_message=f"Guide Me: {ds.progress_text()}")
    except Exception as e:  # noqa: BLE001 - network, permission, quota: said, nothing else changes
        raise UserError(f"Could not push to {repo} ({type(e).__name__}: {str(e)[:200]}). Your data set is unchanged here.") from None
    return f"https://huggingface.co/datasets/{repo}"
