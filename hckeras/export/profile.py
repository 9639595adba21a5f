"""`profile_tflite`: what the LiteRT CPU runtime makes of an exported graph.

A `.tflite` graph runs fast on CPU when XNNPACK takes all of it in one
partition: every op it does not take runs on the builtin kernels (a standalone
int8 RELU there cost 10x the conv before it on the demo model) and splits the
graph into more partitions. The profile lists the graph's ops, counts the
XNNPACK partitions (the interpreter's DELEGATE nodes after delegation) and
names the ops left outside them, plus, for int8 graphs, the QUANTIZE /
DEQUANTIZE ops inside the graph (not at its float32 input or output) and the
float32 compute ops, which are the marks of a graph the converter could not
quantize end to end.

    profile = profile_tflite("out/model_qat.tflite")
    profile.partitions, profile.outside, profile.counts()["CONV_2D"]
"""

from collections import Counter
from dataclasses import dataclass

import numpy as np

QUANTIZE_OPS = ("QUANTIZE", "DEQUANTIZE")
SHAPE_OPS = ("RESHAPE", "SQUEEZE", "EXPAND_DIMS")


@dataclass(frozen=True)
class GraphProfile:
    """Op-level profile of one `.tflite` graph on the LiteRT CPU runtime.

    Attributes:
        ops: op names of the graph in execution order (delegate nodes excluded).
        partitions: XNNPACK partitions after delegation.
        outside: names of the ops XNNPACK did not take, in order.
        inner_quantize: QUANTIZE / DEQUANTIZE ops that are not at the graph's
            edges (the input's QUANTIZE, the output's DEQUANTIZE).
        float_ops: compute ops with a float32 output in a graph whose ops
            compute in int8 (empty for float graphs and dynamic-range ones).
    """

    ops: tuple
    partitions: int
    outside: tuple
    inner_quantize: tuple = ()
    float_ops: tuple = ()

    def counts(self):
        """Op name -> how many."""
        return dict(Counter(self.ops))

    def describe(self):
        """JSON-serialisable summary (the export table's profile columns)."""
        return {
            "ops": len(self.ops),
            "partitions": self.partitions,
            "outside": list(self.outside),
            "inner_quantize": list(self.inner_quantize),
            "float_ops": list(self.float_ops),
            "op_counts": self.counts(),
        }


def profile_tflite(path_or_bytes, num_threads=1):
    """The `GraphProfile` of a `.tflite` file (path or bytes) with XNNPACK applied."""
    from ai_edge_litert.interpreter import Interpreter

    if isinstance(path_or_bytes, bytes | bytearray):
        interpreter = Interpreter(model_content=bytes(path_or_bytes), num_threads=num_threads)
    else:
        interpreter = Interpreter(model_path=str(path_or_bytes), num_threads=num_threads)
    interpreter.allocate_tensors()
    nodes = interpreter._get_ops_details()
    dtypes = {t["index"]: np.dtype(t["dtype"]) for t in interpreter.get_tensor_details()}
    delegates = [n for n in nodes if n["op_name"] == "DELEGATE"]
    graph = [n for n in nodes if n["op_name"] != "DELEGATE"]
    delegated = _delegated_nodes(graph, delegates)
    inputs = {int(i) for i in interpreter._interpreter.InputIndices()}
    outputs = {int(i) for i in interpreter._interpreter.OutputIndices()}
    quantized = any(dtypes.get(int(t)) == np.int8 for n in graph for t in n["outputs"])
    inner, floats = [], []
    for node in graph:
        name = node["op_name"]
        if name == "QUANTIZE" and not set(map(int, node["inputs"])) <= inputs:
            inner.append(name)
        elif name == "DEQUANTIZE" and not set(map(int, node["outputs"])) <= outputs:
            if not _dequantizes_constant(node, graph):
                inner.append(name)
        elif quantized and name not in (*QUANTIZE_OPS, *SHAPE_OPS):
            if any(dtypes.get(int(t)) == np.float32 for t in node["outputs"]):
                floats.append(name)
    return GraphProfile(
        ops=tuple(n["op_name"] for n in graph),
        partitions=len(delegates),
        outside=tuple(n["op_name"] for n in graph if n["index"] not in delegated),
        inner_quantize=tuple(inner),
        float_ops=tuple(floats),
    )


def _dequantizes_constant(node, graph):
    """Whether `node` (a DEQUANTIZE) reads a stored tensor (fp16 weights), not an op's output."""
    produced = {int(t) for n in graph for t in n["outputs"]}
    return not any(int(t) in produced for t in node["inputs"])


def _delegated_nodes(graph, delegates):
    """Indices of the nodes each delegate node replaced: walking back from the
    delegate's outputs through their producers, stopping at its inputs."""
    producer = {int(t): n for n in graph for t in n["outputs"]}
    covered = set()
    for delegate in delegates:
        stop = {int(t) for t in delegate["inputs"]}
        pending = [int(t) for t in delegate["outputs"]]
        seen = set()
        while pending:
            tensor = pending.pop()
            if tensor in seen or tensor in stop or tensor not in producer:
                continue
            seen.add(tensor)
            node = producer[tensor]
            covered.add(node["index"])
            pending.extend(int(t) for t in node["inputs"] if t >= 0)
    return covered


STANDALONE_ACTIVATIONS = ("RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1")
"""Activations the converter fuses into the conv, FC or ADD before them when nothing
(a fake-quant node, a float MUL/ADD) stands between."""


def graph_problems(profile):
    """What keeps `profile`'s graph from running as one int8 (or float) XNNPACK
    partition: one string per problem, empty when there is none."""
    problems = []
    if profile.partitions != 1:
        problems.append(f"{profile.partitions} XNNPACK partitions, expected 1")
    if profile.outside:
        problems.append(f"ops outside XNNPACK: {', '.join(profile.outside)}")
    if profile.inner_quantize:
        problems.append(
            f"QUANTIZE/DEQUANTIZE inside the graph: {', '.join(profile.inner_quantize)}"
        )
    if profile.float_ops:
        problems.append(f"float ops in an int8 graph: {', '.join(profile.float_ops)}")
    standalone = [op for op in profile.ops if op in STANDALONE_ACTIVATIONS]
    if standalone:
        problems.append(f"standalone (unfused) activations: {', '.join(standalone)}")
    return problems
