"""Run in a fresh process by bench_compile.py: build a model and train it a few epochs.

    python benchmarks/_compile_child.py ARCH DTYPE      e.g. 2-64-3 float64

The network is ARCH's dense layers with ReLU between them and a softmax head
with cross-entropy, trained by ``Model.train`` with Adam on the seed's spiral
data.  Prints one JSON line: the CPU seconds (user + system) and wall seconds
of the whole process up to the end of training, and of the training call alone.
"""
import json
import resource
import sys
import time

T0 = time.perf_counter()


def main(arch, dtype):
    import numpy as np
    from nnfs.datasets import spiral_data

    import fastnn

    widths = [int(w) for w in arch.split("-")]
    np.random.seed(0)
    X, y = spiral_data(100, widths[-1])
    X = X.astype(dtype)
    model = fastnn.Model()
    for i, (k, n) in enumerate(zip(widths[:-1], widths[1:])):
        layer = fastnn.Layer_Dense(k, n)
        layer.weights = layer.weights.astype(dtype)
        layer.biases = layer.biases.astype(dtype)
        model.add(layer)
        model.add(fastnn.Activation_ReLU() if i < len(widths) - 2 else fastnn.Activation_Softmax())
    model.set(loss=fastnn.Loss_CategoricalCrossentropy(),
              optimizer=fastnn.Optimizer_Adam(learning_rate=0.05, decay=5e-7),
              accuracy=fastnn.Accuracy_Categorical())
    model.finalize()
    t = time.perf_counter()
    model.train(X, y, epochs=3, verbose=False)
    train_s = time.perf_counter() - t
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps(dict(cpu_s=usage.ru_utime + usage.ru_stime,
                          wall_s=time.perf_counter() - T0, train_s=train_s)))


if __name__ == "__main__":
    main(*sys.argv[1:3])
