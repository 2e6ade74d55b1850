"""The ``gridwatch`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from service.auth.commands import add_parsers as add_auth_parsers
from service.cluster.engine import check_shared_store, parse_engine
from service.core.config import COCO_MODEL, REPO_ROOT, Settings
from service.pipeline import PhotoResult, detect_sources
from service.progress import Progress
from service.sources import IMAGE_SUFFIXES, iter_sources
from vision.detector import Detector, ModelError


def result_record(result: PhotoResult) -> dict[str, object]:
    """The JSONL object for one image: detections in photo pixels, or ``{"path", "error"}``."""
    if result.detections is None:
        return {"path": result.path, "error": result.error}
    det = result.detections
    return {
        "path": result.path,
        "width": result.width,
        "height": result.height,
        "detections": [
            {"label": label, "score": round(score, 4), "xyxy": [round(v, 1) for v in box]}
            for label, score, box in zip(det.labels, det.score.tolist(), det.xyxy.tolist(), strict=True)
        ],
    }


def _text_line(result: PhotoResult) -> str:
    if result.detections is None:
        return f"{result.path}: ERROR {result.error}"
    counts = Counter(result.detections.labels)
    found = ", ".join(f"{n} {label}" for label, n in counts.most_common()) or "nothing"
    return f"{result.path} ({result.width}x{result.height}): {found}"


def _label_score(text: str) -> tuple[str, float]:
    label, sep, value = text.partition("=")
    if not sep or not label:
        raise argparse.ArgumentTypeError(f"takes LABEL=SCORE, got {text!r}")
    return label, _unit_float(value)


def cmd_detect(args: argparse.Namespace, out: TextIO) -> int:
    settings = Settings()
    detector = Detector(
        args.model or settings.model,
        providers=args.providers or settings.providers,
        conf=DEFAULT_CONF if args.conf is None else args.conf,
        class_conf=dict(args.class_conf),
        iou=args.iou,
        imgsz=args.imgsz,
        threads=settings.threads,
        model_thresholds=args.conf is None,
    )
    sources = list(iter_sources(args.paths))
    progress = Progress(len(sources), enabled=args.progress)
    failed = 0
    totals: Counter[str] = Counter()
    for result in detect_sources(sources, detector, batch_size=args.batch, workers=args.workers):
        if result.detections is None:
            failed += 1
        else:
            totals.update(result.detections.labels)
        if args.format == "jsonl":
            out.write(json.dumps(result_record(result), ensure_ascii=False) + "\n")
        else:
            out.write(_text_line(result) + "\n")
        progress.advance()
    progress.close()
    if args.format == "text":
        summary = ", ".join(f"{n} {label}" for label, n in totals.most_common()) or "nothing"
        out.write(f"{len(sources)} images, {failed} failed; found {summary}\n")
    return 1 if sources and failed == len(sources) else 0


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    try:
        from training.export import export_onnx
    except ImportError as exc:  # ultralytics/torch live in the [train] extra
        raise ValueError(f"export needs the training extra (pip install -e '.[train]'): {exc}") from None
    path = export_onnx(args.weights, args.out, imgsz=args.imgsz, half=args.half, end2end=args.end2end)
    out.write(f"{path}\n")
    return 0


def cmd_train(args: argparse.Namespace, out: TextIO) -> int:
    try:
        from training.export import export_onnx
        from training.recipe import load_recipe
        from training.train import train
    except ImportError as exc:  # ultralytics/torch live in the [train] extra
        raise ValueError(f"train needs the training extra (pip install -e '.[train]'): {exc}") from None
    recipe = load_recipe(args.recipe)
    best = train(recipe, args.data, args.run, weights_dir=args.weights_dir, resume=args.resume)
    out.write(f"best checkpoint: {best}\n")
    if args.export is not None:
        out.write(f"{export_onnx(best, args.export, imgsz=args.export_imgsz or recipe.imgsz)}\n")
    return 0


def cmd_eval(args: argparse.Namespace, out: TextIO) -> int:
    from training.evaluate import evaluate_split

    settings = Settings()
    detector = Detector(
        args.model or settings.model,
        providers=settings.providers,
        conf=args.conf,
        imgsz=args.imgsz,
        threads=settings.threads,
    )
    reviewed = None
    if args.reviewed is not None:
        from training.reviewed import load_reviewed

        reviewed = load_reviewed(args.reviewed)
    bar = Progress(0, enabled=args.progress)
    try:
        report, found = evaluate_split(
            args.dataset,
            detector,
            split=args.split,
            class_conf=dict(args.class_conf),
            pseudo_gt=args.pseudo_gt,
            batch_size=args.batch,
            progress=bar.update,
            reviewed=reviewed,
            reviewed_path=args.reviewed,
        )
    finally:
        bar.close()
    out.write(report.markdown() + "\n")
    if args.failures:
        from training.failures import write_failures

        written = write_failures(found, report.thresholds, args.failures)
        out.write(f"{len(written)} failure cases drawn in {args.failures}\n")
    if args.json:
        args.json.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


def cmd_quantize(args: argparse.Namespace, out: TextIO) -> int:
    try:
        from training.quantize import quantize_int8
    except ImportError as exc:  # onnx lives in the [train] extra
        raise ValueError(f"quantize needs the training extra (pip install -e '.[train]'): {exc}") from None
    images = sorted(p for p in args.calibration.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    # Real photos only: synthetic ones would skew the activation ranges.
    images = [p for p in images if not p.name.startswith("synth_")][: args.limit]
    out.write(f"{quantize_int8(args.model, args.out, images)} ({len(images)} calibration images)\n")
    return 0


def cmd_fuse(args: argparse.Namespace, out: TextIO) -> int:
    try:
        from training.fuse import fuse
    except ImportError as exc:  # onnx lives in the [train] extra
        raise ValueError(f"fuse needs the training extra (pip install -e '.[train]'): {exc}") from None
    take = [label.strip() for label in args.take.split(",") if label.strip()]
    out.write(f"{fuse(args.primary, args.secondary, take, args.out)}\n")
    return 0


def cmd_calibrate(args: argparse.Namespace, out: TextIO) -> int:
    from training.calibrate import calibrate, markdown, write_thresholds
    from training.evaluate import AP_CONF, detect_split

    settings = Settings()
    model = args.model or settings.model
    detector = Detector(model, providers=settings.providers, conf=AP_CONF, imgsz=args.imgsz, threads=settings.threads)
    bar = Progress(0, enabled=args.progress)
    try:
        found = detect_split(args.dataset, detector, split=args.split, batch_size=args.batch, progress=bar.update)
    finally:
        bar.close()
    rows = calibrate(found, max_false_alarm=args.max_false_alarm, assume_absent=args.assume_absent)
    out.write(markdown(rows) + "\n")
    if args.write:
        write_thresholds(Path(model), {r.label: r.threshold for r in rows})
        out.write(f"thresholds written into {model}\n")
    return 0


def cmd_dataset_build(args: argparse.Namespace, out: TextIO) -> int:
    # Imported here: dataset building is a developer task and needs nothing at detection time.
    from datasets.build import build_dataset

    settings = Settings()
    detector = (
        None if args.no_pseudo else Detector(args.pseudo_model, providers=settings.providers, threads=settings.threads)
    )
    sources = [s.strip() for s in args.sources.split(",") if s.strip()] if args.sources else None
    bar = Progress(0, enabled=args.progress)
    try:
        report = build_dataset(
            args.data,
            args.out,
            sources=sources,
            detector=detector,
            pseudo_conf=args.pseudo_conf,
            limit_per_source=args.limit_per_source,
            overwrite=args.overwrite,
            progress=bar.update,
            synthetic=_synthetic_count(args.synthetic, sources),
            seed=args.seed,
        )
    except (KeyError, FileNotFoundError) as exc:
        raise ValueError(str(exc).strip("'\"")) from None
    finally:
        bar.close()
    out.write(report.summary_table() + "\n")
    return 0


def cmd_scan(args: argparse.Namespace, out: TextIO) -> int:
    # Imported here: the store (SQLAlchemy, Alembic) is not needed by detect.
    from service.context import open_context
    from service.scan import PhotoScan, scan

    notes = sys.stderr if args.format == "jsonl" else out  # keep stdout one JSON object per photo
    bar: list[Progress] = []

    def progress(photo: PhotoScan, done: int, total: int) -> None:
        if not bar:
            bar.append(Progress(total, enabled=args.progress))
        line = json.dumps(photo.to_json(), ensure_ascii=False) if args.format == "jsonl" else photo.text()
        out.write(line + "\n")
        bar[0].advance(done - bar[0].done)

    settings = Settings()
    engine = parse_engine(args.cluster or settings.cluster)
    with open_context(settings, site=args.site, model=args.model) as ctx:
        where = (args.camera, args.place, args.lat, args.lon)
        try:
            if engine.is_local:
                report = scan(args.paths, ctx, *where, progress=progress)
            else:
                # Imported here: Ray is the [cluster] extra.
                from service.cluster.archive import scan_on_ray

                engine.connect()
                check_shared_store(ctx.store_url, engine.nodes())
                report = scan_on_ray(
                    args.paths,
                    ctx,
                    *where,
                    progress=progress,
                    actors=args.actors,
                    cpus_per_actor=settings.cluster_cpus_per_worker,
                    gpus_per_actor=settings.cluster_gpus_per_worker,
                )
                notes.write(f"actors: {len(report.per_actor)}, photos each: {sorted(report.per_actor.values())}\n")
        finally:
            if bar:
                bar[0].close()
        notes.write(f"{report.summary()}\nstore: {ctx.store_location}\nevidence: {ctx.evidence.location}\n")
    return 1 if report.photos and report.failed == report.photos else 0


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    import uvicorn

    from service.api.app import create_app
    from service.auth.commands import no_user_hint

    settings = Settings()
    if args.cluster is not None:  # the service's background work reads it from its settings
        settings = settings.model_copy(update={"cluster": args.cluster})
    hint = no_user_hint(settings)
    if hint:
        out.write(f"{hint}\n")
    out.write(f"GridWatch on http://{args.host}:{args.port}/ (API docs: http://{args.host}:{args.port}/docs)\n")
    out.flush()
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0


DEFAULT_SYNTHETIC = 500
DEFAULT_CONF = 0.25  # labels a model ships no threshold for


def _synthetic_count(asked: int | None, sources: Sequence[str] | None) -> int:
    """``--synthetic``, or by default DEFAULT_SYNTHETIC when a background source is among ``sources``."""
    from datasets.build import SYNTH_BACKGROUNDS

    if asked is not None:
        return asked
    return DEFAULT_SYNTHETIC if sources is None or set(sources) & set(SYNTH_BACKGROUNDS) else 0


def _unit_float(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port between 1 and 65535, got {text}")
    return value


def _add_progress_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )


def _cluster(text: str) -> str:
    try:
        return parse_engine(text).address
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_cluster_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cluster",
        type=_cluster,
        metavar="WHERE",
        help="local (this process), auto (RAY_ADDRESS or this machine's Ray), ray://head:10001 or host:port "
        "(default: GRIDWATCH_CLUSTER, else local; needs the [cluster] extra)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridwatch", description="Spot urban-management violations in photos and camera feeds."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    detect = sub.add_parser("detect", help="detect objects in images, folders and zip archives")
    detect.add_argument("paths", nargs="+", help="image files, folders (searched recursively) or .zip archives")
    detect.add_argument("--model", type=Path, help="ONNX model (default: GRIDWATCH_MODEL or the shipped model)")
    detect.add_argument(
        "--conf",
        type=_unit_float,
        help=f"minimum score for every label (default: the model's per-label thresholds, else {DEFAULT_CONF})",
    )
    detect.add_argument(
        "--class-conf",
        action="append",
        default=[],
        metavar="LABEL=SCORE",
        type=_label_score,
        help="per-label minimum score, repeatable, e.g. --class-conf person=0.5",
    )
    detect.add_argument("--iou", type=_unit_float, default=0.7, help="NMS IoU threshold (default 0.7)")
    detect.add_argument("--imgsz", type=_positive_int, help="inference size in pixels (default: the model's)")
    detect.add_argument("--batch", type=_positive_int, default=1, help="images per inference batch (default 1)")
    detect.add_argument("--workers", type=_positive_int, default=2, help="decoding threads (default 2)")
    detect.add_argument("--providers", help="onnxruntime providers: auto, cpu, cuda, tensorrt (default auto)")
    detect.add_argument("--format", choices=("text", "jsonl"), default="text", help="output format (default text)")
    _add_progress_flag(detect)
    detect.set_defaults(func=cmd_detect)

    sc = sub.add_parser("scan", help="detect violations in photos and open or update cases in the store")
    sc.add_argument("paths", nargs="+", help="image files, folders (searched recursively) or .zip archives")
    where = sc.add_mutually_exclusive_group()
    where.add_argument("--camera", metavar="ID", help="the photos are stills of this site camera (its zones apply)")
    where.add_argument("--place", metavar="ID", help="the photos were taken at this site place (its zones apply)")
    where.add_argument("--lat", type=float, help="latitude of the photos, with --lon (default: each photo's EXIF GPS)")
    sc.add_argument("--lon", type=float, help="longitude of the photos, with --lat")
    sc.add_argument("--site", type=Path, help="site YAML (default: GRIDWATCH_SITE, else a one-grid default site)")
    sc.add_argument("--model", type=Path, help="ONNX model (default: GRIDWATCH_MODEL or the shipped model)")
    sc.add_argument("--format", choices=("text", "jsonl"), default="text", help="output format (default text)")
    _add_cluster_flag(sc)
    sc.add_argument("--actors", type=_positive_int, default=2, help="detector actors with --cluster (default 2)")
    _add_progress_flag(sc)
    sc.set_defaults(func=cmd_scan)

    serve = sub.add_parser("serve", help="run the service: REST API, web UI, camera streams and photo batches")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    _add_cluster_flag(serve)
    serve.set_defaults(func=cmd_serve)
    add_auth_parsers(sub)

    export = sub.add_parser(
        "export", help="export Ultralytics .pt weights to ONNX, or make an FP16 copy ([train] extra)"
    )
    export.add_argument("weights", type=Path, help="Ultralytics detection checkpoint (.pt), or FP32 .onnx with --half")
    export.add_argument("--out", type=Path, required=True, help="ONNX file to write")
    export.add_argument("--imgsz", type=_positive_int, default=640, help="default input size (default 640)")
    export.add_argument(
        "--half", action="store_true", help="FP16 copy for GPU inference (FP32 input and output); WEIGHTS may be .onnx"
    )
    export.add_argument("--end2end", action="store_true", help="NMS-free head where the model has one (YOLO26)")
    export.set_defaults(func=cmd_export)

    ev = sub.add_parser("eval", help="per-label AP and image-level precision/recall on a dataset split")
    ev.add_argument("dataset", type=Path, help="dataset folder written by `gridwatch dataset build`")
    ev.add_argument("--split", default="test", choices=("train", "val", "test"), help="split (default test)")
    ev.add_argument("--model", type=Path, help="ONNX model (default: GRIDWATCH_MODEL or the shipped model)")
    ev.add_argument("--conf", type=_unit_float, default=0.001, help="score floor for AP (default 0.001)")
    ev.add_argument(
        "--class-conf",
        action="append",
        default=[],
        metavar="LABEL=SCORE",
        type=_label_score,
        help="operating threshold for image-level P/R, repeatable (default: model metadata, else 0.25)",
    )
    ev.add_argument("--imgsz", type=_positive_int, help="inference size in pixels (default: the model's)")
    ev.add_argument("--batch", type=_positive_int, default=1, help="images per inference batch (default 1)")
    ev.add_argument(
        "--pseudo-gt",
        action="store_true",
        help="count the dataset's COCO pseudo-labels (person, vehicles) as ground truth on every image "
        "(agreement with the pseudo-labelling model, which itself scores about 1.0)",
    )
    ev.add_argument(
        "--reviewed",
        type=Path,
        metavar="FILE",
        help="reviewed ground truth (datasets/reviewed/*.json): evaluate only its images, scoring only its labels "
        "against its boxes, predictions mostly inside its ignore boxes dropped",
    )
    ev.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    ev.add_argument("--failures", type=Path, help="draw missed and false-alarm images per label into this folder")
    _add_progress_flag(ev)
    ev.set_defaults(func=cmd_eval)

    quant = sub.add_parser("quantize", help="INT8 copy of an ONNX model, calibrated on real photos ([train] extra)")
    quant.add_argument("model", type=Path, help="FP32 ONNX model")
    quant.add_argument("--out", type=Path, required=True, help="INT8 ONNX file to write")
    quant.add_argument(
        "--calibration",
        type=Path,
        default=Path("data/datasets/gridwatch/images/train"),
        help="folder of real photos (default: the dataset's train split)",
    )
    quant.add_argument("--limit", type=_positive_int, default=100, help="calibration photos used (default 100)")
    quant.set_defaults(func=cmd_quantize)

    fu = sub.add_parser("fuse", help="one ONNX model scoring some labels with a second model ([train] extra)")
    fu.add_argument("primary", type=Path, help="dense-head ONNX model whose labels and metadata are kept")
    fu.add_argument("secondary", type=Path, help="dense-head ONNX model with the same input, e.g. the COCO base")
    fu.add_argument("--take", required=True, help="comma-separated labels scored by the secondary model")
    fu.add_argument("--out", type=Path, required=True, help="fused ONNX file to write")
    fu.set_defaults(func=cmd_fuse)

    cal = sub.add_parser("calibrate", help="choose per-label operating thresholds on a split (default val)")
    cal.add_argument("dataset", type=Path, help="dataset folder written by `gridwatch dataset build`")
    cal.add_argument("--split", default="val", choices=("train", "val", "test"), help="split (default val)")
    cal.add_argument("--model", type=Path, help="ONNX model (default: GRIDWATCH_MODEL or the shipped model)")
    cal.add_argument(
        "--max-false-alarm", type=_unit_float, default=0.05, help="false-alarm rate cap per label (default 0.05)"
    )
    cal.add_argument(
        "--assume-absent",
        action="append",
        default=[],
        metavar="LABEL",
        help="calibrate LABEL as absent from every real image (labels learnt from synthetic data), repeatable",
    )
    cal.add_argument("--imgsz", type=_positive_int, help="inference size in pixels (default: the model's)")
    cal.add_argument("--batch", type=_positive_int, default=1, help="images per inference batch (default 1)")
    cal.add_argument("--write", action="store_true", help="store the thresholds in the model's ONNX metadata")
    _add_progress_flag(cal)
    cal.set_defaults(func=cmd_calibrate)

    train = sub.add_parser("train", help="fine-tune a pretrained YOLO on a built dataset (needs the [train] extra)")
    train.add_argument(
        "--recipe", type=Path, default=REPO_ROOT / "models" / "recipe-cpu.yaml", help="recipe YAML (default: CPU)"
    )
    train.add_argument(
        "--data",
        type=Path,
        default=Path("data/datasets/gridwatch/data.yaml"),
        help="dataset data.yaml (default data/datasets/gridwatch/data.yaml)",
    )
    train.add_argument(
        "--run", type=Path, default=Path("data/runs/gridwatch"), help="run folder (default data/runs/gridwatch)"
    )
    train.add_argument(
        "--weights-dir",
        type=Path,
        default=REPO_ROOT.parent / "shared" / "weights",
        help="pretrained weights folder (default: shared/weights beside the repository)",
    )
    train.add_argument("--resume", action="store_true", help="continue the interrupted run in --run")
    train.add_argument("--export", type=Path, help="also export the best checkpoint to this ONNX file")
    train.add_argument("--export-imgsz", type=_positive_int, help="default input size of the export (default: recipe)")
    train.set_defaults(func=cmd_train)

    dataset = sub.add_parser("dataset", help="build training data (needs ../shared/data)")
    dataset_sub = dataset.add_subparsers(dest="dataset_command", required=True)
    build = dataset_sub.add_parser("build", help="write one YOLO dataset with splits and a dataset card")
    build.add_argument(
        "--data",
        type=Path,
        default=REPO_ROOT.parent / "shared" / "data",
        help="source folders (default: shared/data beside the repository)",
    )
    build.add_argument(
        "--out",
        type=Path,
        default=Path("data/datasets/gridwatch"),
        help="dataset folder (default data/datasets/gridwatch)",
    )
    build.add_argument("--sources", help="comma-separated source names (default: all)")
    build.add_argument("--no-pseudo", action="store_true", help="no COCO pseudo-labels for vehicles and people")
    build.add_argument(
        "--pseudo-model",
        type=Path,
        default=COCO_MODEL,
        help="COCO model that pseudo-labels people and vehicles (default: the shipped COCO YOLO26n)",
    )
    build.add_argument(
        "--pseudo-conf", type=_unit_float, default=0.4, help="minimum score of a pseudo-label (default 0.4)"
    )
    build.add_argument("--limit-per-source", type=_positive_int, help="at most N images per source (quick builds)")
    build.add_argument(
        "--synthetic",
        type=int,
        help=f"synthetic flyposting images added to train (default {DEFAULT_SYNTHETIC} when a background "
        "source is included, else 0)",
    )
    build.add_argument("--seed", type=int, default=0, help="random seed of the synthetic images (default 0)")
    build.add_argument("--overwrite", action="store_true", help="clear a non-empty --out first")
    _add_progress_flag(build)
    build.set_defaults(func=cmd_dataset_build)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args, sys.stdout)
    except (ModelError, ValueError) as exc:
        print(f"gridwatch: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
