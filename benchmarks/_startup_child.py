"""Run in a fresh process by bench_startup.py: import, then train one step.

    python benchmarks/_startup_child.py IMPL DTYPE EXPERIMENT

IMPL       fastnn | reference | torch
DTYPE      float32 (after nnfs.init(), as readers run it) | float64 (no nnfs.init())
EXPERIMENT JSON {"samples": S, "classes": C, "seed": N, "optimizers": [[NAME, KWARGS], ...]}:
           the seed's data and the optimizers to train one epoch each with (notebook
           names and kwargs).  bench_startup.py writes it from fastnn.experiments;
           this process does not import fastnn unless it times it (IMPL fastnn, or
           reference: fastnn.reference is inside the package).

Prints one JSON line: seconds spent importing (numpy, nnfs and the package),
in the training step(s), and in total since the interpreter reached this file.
"""
import time

T0 = time.perf_counter()
import json  # noqa: E402
import sys  # noqa: E402


def notebook_epoch(mod, np, opt_name, opt_kwargs, X, y):
    dense1 = mod.DenseLayer(2, 64)
    activation1 = mod.ReLU()
    dense2 = mod.DenseLayer(64, 3)
    activationLoss = mod.SoftMaxCategoricalCrossEntropy()
    optimizer = getattr(mod, opt_name)(**opt_kwargs)
    for epoch in range(1):
        dense1.forward(X)
        activation1.forward(dense1.output)
        dense2.forward(activation1.output)
        loss = activationLoss.forward(dense2.output, y)
        predictions = np.argmax(activationLoss.output, axis=1)
        if len(y.shape) == 2:
            y = np.argmax(y, axis=1)
        accuracy = np.mean(predictions == y)
        if not epoch % 100:
            f"epoch: {epoch}, accuracy: {accuracy: .3f}, loss: {loss: .3f}, lr: {optimizer.lr_curr}"
        activationLoss.backward(activationLoss.output, y)
        dense2.backward(activationLoss.dinputs)
        activation1.backward(dense2.dinputs)
        dense1.backward(activation1.dinputs)
        optimizer.preUpdateParams()
        optimizer.updateParams(dense1)
        optimizer.updateParams(dense2)
        optimizer.postUpdateParams()
    return float(loss)


def torch_epoch(torch, np, opt_name, opt_kwargs, X, y):
    tdt = torch.float32 if X.dtype == np.float32 else torch.float64
    Xt = torch.from_numpy(X).to(tdt)
    yt = torch.from_numpy(y.astype(np.int64))
    nn = torch.nn
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 3)).to(tdt)
    kw = dict(opt_kwargs)
    lr = kw.pop("lr", {"SGD": 1.0, "AdaGrad": 1.0, "RMSProp": 1.0, "Adam": 0.001}[opt_name])
    kw.pop("decay", None)
    if opt_name == "SGD":
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=kw.get("momentum", 0.0))
    elif opt_name == "AdaGrad":
        opt = torch.optim.Adagrad(model.parameters(), lr=lr, eps=1e-7)
    elif opt_name == "RMSProp":
        opt = torch.optim.RMSprop(model.parameters(), lr=lr, alpha=kw.get("rho", 0.9), eps=1e-7)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=lr, eps=1e-7)
    out = model(Xt)
    loss = nn.functional.cross_entropy(out, yt)
    (out.detach().argmax(1) == yt).to(tdt).mean().item()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def main():
    impl, dtype, experiment = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    import numpy as np
    import nnfs
    from nnfs.datasets import spiral_data
    if impl == "fastnn":
        import fastnn as mod
    elif impl == "reference":
        import fastnn.reference as mod
    else:
        import torch as mod
    t_import = time.perf_counter()

    if dtype == "float32":
        nnfs.init()
    np.random.seed(experiment["seed"])  # (nnfs.init() seeds with 0, the seed's seed)
    X, y = spiral_data(samples=experiment["samples"], classes=experiment["classes"])
    losses = []
    for opt_name, kwargs in experiment["optimizers"]:
        if impl == "torch":
            losses.append(torch_epoch(mod, np, opt_name, kwargs, X, y))
        else:
            losses.append(notebook_epoch(mod, np, opt_name, kwargs, X, y))
    t_end = time.perf_counter()
    print(json.dumps({"import_s": t_import - T0, "step_s": t_end - t_import,
                      "in_process_s": t_end - T0, "losses": losses}))


if __name__ == "__main__":
    main()
