"""LiteRT CPU latency of the export variants of an untrained model, with graph profiles.

Untrained weights (`weights=None`) time the same as trained ones; the
BatchNormalization statistics are set from random crops first (unit statistics
would give activations far out of any int8 range). Per variant: the full model
(every category's maps) and the category-conditional one (first category), plus
the bare backbone. QAT is not fine-tuned here (epochs=0: the fake-quant graph is
what is timed). Models are timed interleaved, `rounds` x `runs` invocations each,
and the best round's median is reported (the machine is shared).

    python -m hckeras.bench.edge_latency tiny --input-size 96 --output-size 32 --maps 3
    python -m hckeras.bench.edge_latency mobilenet_v3_small mobilenet_v3_large \\
        --variants fp32,fp16,int8,qat --keypoints 17 --peers PEER.tflite ...
"""

import argparse
import time

import numpy as np

from hckeras.cli.train import parse_taps
from hckeras.export.grid_stream_model import HEAD_FORMS


def _data_statistics(model, crops):
    import keras

    norms = [
        layer
        for layer in model._flatten_layers()
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    for layer in norms:
        layer.momentum = 0.0
    model(crops, training=True)
    for layer in norms:
        layer.momentum = 0.99


BENCH_HEADS = (*HEAD_FORMS, "streams_stitched")
"""`--heads` forms: `export_graph`'s, and "streams_stitched", grid streams without
classifier blocks (`grid_stream_model(classifier_blocks=False)`), for comparison."""


def _convert(model, variant, crops, hypercolumn=True, head="auto"):
    from hckeras.export.convert import convert_keras, static_probability_model
    from hckeras.export.grid_stream_model import export_graph, grid_stream_model
    from hckeras.export.int8_graph import int8_graph
    from hckeras.export.quantization import QuantizationConfig

    if hypercolumn and head == "streams_stitched":
        model, head = grid_stream_model(model, classifier_blocks=False), "streams"
    if variant == "qat":
        from hckeras.export.qat import QATConfig, convert_qat, train_qat

        qat_model, _ = train_qat(model, [(crops, None)], QATConfig(epochs=0), head=head)
        return convert_qat(qat_model)
    if hypercolumn:
        model = static_probability_model(export_graph(model, head)[0])
    config = QuantizationConfig.for_variant(variant, crops)
    return convert_keras(int8_graph(model) if variant == "int8" else model, config)


def _time(models, rounds, runs):
    from ai_edge_litert.interpreter import Interpreter

    interpreters = {}
    for name, data in models.items():
        interpreter = Interpreter(model_content=data, num_threads=1)
        interpreter.allocate_tensors()
        detail = interpreter.get_input_details()[0]
        interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
        for _ in range(5):
            interpreter.invoke()
        interpreters[name] = interpreter
    medians = {name: [] for name in models}
    for _ in range(rounds):
        for name, interpreter in interpreters.items():
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                interpreter.invoke()
                times.append(time.perf_counter() - start)
            medians[name].append(1000 * float(np.median(times)))
    return {name: min(values) for name, values in medians.items()}


def build_models(
    backbone,
    input_size,
    output_size,
    maps,
    variants,
    keypoints=0,
    taps=None,
    hard_swish_bound=False,
    heads=("auto",),
):
    """`{(model label, variant): .tflite bytes}` for one backbone: the mask model with
    every category's maps ("mask, all maps"), its category-conditional model ("mask,
    one category"), a keypoint model with `keypoints` maps of one category (if > 0),
    and the bare backbone. `taps` (tap name -> neighbourhood size) replaces the
    backbone's default taps in every hypercolumn model.

    `hard_swish_bound`: also the bare backbone with every hard-swish replaced by
    ReLU ("backbone, hard-swish as ReLU (bound)"; not for QAT), if it has any: a
    different function, timed only as the bound of what an int8 hard-swish run as
    one fused op would cost (ai-edge-litert's XNNPACK takes hard-swish in float
    only, so int8 graphs carry it as three ops, `hckeras.export.int8_graph`).

    `heads`: the head forms of the hypercolumn models (`export_graph`: "auto"
    is what `hckeras export` writes); a form other than the first adds rows
    labelled ", <form> head"."""
    import keras

    from hckeras import build_hypercolumn_model
    from hckeras.backbones import build_backbone
    from hckeras.export.category_model import category_model
    from hckeras.export.int8_graph import replace_hard_swish
    from hckeras.tasks import MapLayout

    keras.utils.set_random_seed(0)
    crops = np.random.default_rng(0).uniform(0, 255, (16, input_size, input_size, 3))
    crops = crops.astype(np.float32)
    size = None if backbone in ("vgg16", "alexnet") else input_size

    def hypercolumn(num_maps):
        model = build_hypercolumn_model(
            backbone,
            taps=taps,
            grid_size=5,
            num_maps=num_maps,
            output_size=output_size,
            input_size=size,
        )
        _data_statistics(model, crops)
        return model

    model = hypercolumn(maps)
    ids = tuple(range(1, maps + 1))
    layout = MapLayout(
        task="segmentation",
        category_ids=ids,
        category_names=tuple(f"c{i}" for i in ids),
        map_names_per_category=tuple((f"c{i}",) for i in ids),
    )
    graphs = {"mask, all maps": model, "mask, one category": category_model(model, layout, 1)}
    if keypoints:
        graphs[f"keypoints ({keypoints} maps)"] = hypercolumn(keypoints)
    bare = build_backbone(backbone, input_size=size).model
    _data_statistics(bare, crops)
    inputs = keras.Input((input_size, input_size, 3), batch_size=1)
    bare = keras.Model(inputs, bare(inputs), name="backbone")
    bares = {"backbone": bare}
    if hard_swish_bound:
        relu = replace_hard_swish(bare, lambda name: keras.layers.ReLU(name=name))
        if relu is not bare:
            bares["backbone, hard-swish as ReLU (bound)"] = relu
    models = {}
    for variant in variants:
        for head in heads:
            suffix = "" if head == heads[0] else f", {head} head"
            for label, graph in graphs.items():
                models[(f"{backbone} {label}{suffix}", variant)] = _convert(
                    graph, variant, crops, head=head
                )
        if variant != "qat":
            for label, graph in bares.items():
                models[(f"{backbone} {label}", variant)] = _convert(
                    graph, variant, crops, hypercolumn=False
                )
    return models


def measure(models, rounds=10, runs=30):
    """`{key: {"ms", "ops", "partitions", "outside", "problems"}}` of `{key: bytes}`,
    all timed in one interleaved loop."""
    from hckeras.export.profile import graph_problems, profile_tflite

    latency = _time(models, rounds, runs)
    results = {}
    for key, data in models.items():
        profile = profile_tflite(data)
        results[key] = {
            "ms": latency[key],
            "ops": len(profile.ops),
            "partitions": profile.partitions,
            "outside": len(profile.outside),
            "problems": graph_problems(profile),
        }
    return results


def format_results(results, title):
    """Markdown table; ratios against the same model's fp32 and against the bare
    backbone of the same variant (int8 for QAT)."""
    lines = [
        f"{title}",
        "",
        "| model | variant | ms/crop 1 thr | vs its fp32 | vs backbone | ops | "
        "XNNPACK partitions | ops outside |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (model, variant), r in results.items():
        fp32 = results.get((model, "fp32"))
        backbone = model.split(" ")[0] + " backbone"
        bare = results.get((backbone, variant)) or results.get((backbone, "int8"))
        ratio = "-" if fp32 is None else f"{r['ms'] / fp32['ms']:.2f}"
        overhead = "-" if bare is None or model == backbone else f"{r['ms'] / bare['ms']:.2f}"
        lines.append(
            f"| {model} | {variant} | {r['ms']:.2f} | {ratio} | {overhead} | "
            f"{r['ops']} | {r['partitions']} | {r['outside']} |"
        )
    return "\n".join(lines)


def main(argv=None):
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m hckeras.bench.edge_latency")
    parser.add_argument("backbones", nargs="+")
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--output-size", type=int, default=50)
    parser.add_argument("--maps", type=int, default=3, help="mask categories (one map each)")
    parser.add_argument("--keypoints", type=int, default=0, help="keypoint maps (0: none)")
    parser.add_argument("--variants", default="fp32,int8,qat")
    parser.add_argument(
        "--taps",
        type=parse_taps,
        help="taps of every hypercolumn model, e.g. fc7:1,stride16:1,stride8:1 "
        "(default: each backbone's)",
    )
    parser.add_argument(
        "--hard-swish-bound",
        action="store_true",
        help="also time each backbone with hard-swish as ReLU (a bound for a one-op int8 "
        "hard-swish, not a model)",
    )
    parser.add_argument(
        "--heads",
        default="auto",
        help="head forms, comma-separated (auto, streams, dense, streams_stitched): auto is "
        "what hckeras export writes; each further form adds rows",
    )
    parser.add_argument("--peers", nargs="*", default=[], help=".tflite files timed alongside")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    heads = tuple(args.heads.split(","))
    unknown = sorted(set(heads) - set(BENCH_HEADS))
    if unknown:
        parser.error(f"unknown head form(s) {', '.join(unknown)}; valid: {', '.join(BENCH_HEADS)}")
    models = {}
    for backbone in args.backbones:
        models.update(
            build_models(
                backbone,
                args.input_size,
                args.output_size,
                args.maps,
                args.variants.split(","),
                args.keypoints,
                args.taps,
                args.hard_swish_bound,
                heads,
            )
        )
    for peer in args.peers:
        models[(f"peer {Path(peer).stem}", "as shipped")] = Path(peer).read_bytes()
    results = measure(models, args.rounds, args.runs)
    title = (
        f"{', '.join(args.backbones)}, {args.input_size} px, S {args.output_size}, "
        f"{args.maps} mask categories, taps {args.taps or 'default'}, 1 thread, XNNPACK"
    )
    print(format_results(results, title))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
