"""The ``xai-widgets`` command: ``xai-widgets audit --model ... --data ... --out ...``."""

from __future__ import annotations

import argparse
import pathlib
import sys
from collections.abc import Sequence
from typing import Optional, Union

from ..engine.errors import AuditJobError, ExplainError

EXAMPLE = """\
examples:
  xai-widgets audit --model mypkg.models:resnet --checkpoint best.pt --data /data/val --out audit/
  torchrun --nproc_per_node=8 -m xai_widgets.audit_job.cli audit --model mypkg.models:resnet \\
      --data mypkg.data:validation_set --methods gradcam,layercam --layers layer3,layer4 --out audit/
  (torchrun $(which xai-widgets) audit ... works too; run the same command again to resume)
"""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="xai-widgets", description="xai_widgets from the command line.")
    commands = top.add_subparsers(dest="command", required=True)
    audit = commands.add_parser(
        "audit",
        help="explain every image of a data set into an audit store (one process, or under torchrun)",
        description="Explain every image of a data set and write a store (CSV table, float16 maps in npz "
        "shards, manifest.json) that the Gallery opens with Gallery.open(folder). Run the same command "
        "again to resume: finished shards are skipped.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    audit.add_argument("--model", required=True, help="package.module:function (or file.py:function) building it")
    audit.add_argument("--checkpoint", help="a state dict for the model, read with torch.load(weights_only=True)")
    audit.add_argument("--data", required=True, help="an image folder, or package.module:function returning a Dataset")
    audit.add_argument("--out", required=True, help="the store's folder (created; resumed when it holds this job)")
    audit.add_argument("--methods", default="gradcam", help="comma-separated methods (default: gradcam)")
    audit.add_argument("--layers", default="", help="comma-separated layers for layer methods (default: the model's)")
    audit.add_argument("--target", default="predicted", help="predicted (default), true, or a class index")
    audit.add_argument("--transform", help="package.module:function returning the transform to apply to each image")
    audit.add_argument("--labels", type=pathlib.Path, help="a text file of class names, one per line")
    audit.add_argument("--batch-size", type=int, help="images per batch (default: 64 on a GPU, 32 on the CPU)")
    audit.add_argument("--shard-size", type=int, default=256, help="images per shard (default: 256)")
    audit.add_argument("--thumbnail", type=int, default=64, help="longest side of kept thumbnails, 0: none (64)")
    audit.add_argument("--device", help="default: cuda:LOCAL_RANK when CUDA is available, else cpu")
    audit.add_argument(
        "--read-threads", type=int, default=4, help="threads reading and preparing images ahead (default: 4)"
    )
    audit.add_argument("--no-progress", action="store_true", help="no progress bars or lines")
    return top


def target_value(text: str) -> Union[str, int]:
    return int(text) if text.lstrip("-").isdigit() else text


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    arguments = parser().parse_args(argv)
    from .run import run_audit

    try:
        labels = None
        if arguments.labels is not None:
            if not arguments.labels.is_file():
                raise AuditJobError(f"--labels {str(arguments.labels)!r} is not a file; give a text file of names.")
            labels = [line.strip() for line in arguments.labels.read_text().splitlines() if line.strip()]
        run_audit(
            arguments.model,
            arguments.data,
            out=arguments.out,
            methods=[m.strip() for m in arguments.methods.split(",") if m.strip()],
            layers=[x.strip() for x in arguments.layers.split(",") if x.strip()] or [None],
            target=target_value(arguments.target),
            checkpoint=arguments.checkpoint,
            transform=arguments.transform,
            labels=labels,
            batch_size=arguments.batch_size,
            shard_size=arguments.shard_size,
            thumbnail=arguments.thumbnail,
            device=arguments.device,
            read_threads=arguments.read_threads,
            progress=not arguments.no_progress,
        )
    except ExplainError as err:
        print(f"xai-widgets audit: error: {command_line_words(str(err))}", file=sys.stderr)
        return 2
    return 0


def command_line_words(message: str) -> str:
    """An engine message that names a Python argument, with the flag that sets it here."""
    if "transform=" in message:
        message += " On the command line: --transform package.module:function (for example xai_widgets.demo:transform)."
    return message


if __name__ == "__main__":
    sys.exit(main())
