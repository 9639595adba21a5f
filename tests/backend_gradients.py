"""Gradients in tests, on whichever Keras backend is active."""

import keras
import numpy as np


def value_and_gradient(fn, x):
    """`fn(x)` and `d sum(fn(x)) / dx` as NumPy, on whichever backend is active."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(x)  # a tensor, as a model's output is (not a Variable)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
            total = tf.reduce_sum(y)
        return np.asarray(y), np.asarray(tape.gradient(total, x))
    if backend == "jax":
        import jax

        y = fn(x)
        grad = jax.grad(lambda v: fn(v).sum())(x)
        return np.asarray(y), np.asarray(grad)
    if backend == "torch":
        import torch

        x = torch.tensor(x, requires_grad=True)
        y = fn(x)
        y.sum().backward()
        return y.detach().numpy(), x.grad.numpy()
    raise NotImplementedError(backend)
