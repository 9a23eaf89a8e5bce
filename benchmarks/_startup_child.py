"""Run in a fresh process by bench_startup.py: import, then train one step.

    python benchmarks/_startup_child.py IMPL WHAT DTYPE

IMPL  fastnn | reference | torch
WHAT  first-step  -- the seed's network, one epoch with Adam(lr=0.05, decay=5e-7)
      seed-all    -- one epoch with each optimizer cell of the seed notebook
                     (SGD(), SGD(decay, momentum), AdaGrad, RMSProp, Adam)
DTYPE float32 (after nnfs.init(), as readers run it) | float64 (no nnfs.init())

Prints one JSON line: seconds spent importing (numpy, nnfs and the package),
in the training step(s), and in total since the interpreter reached this file.
"""
import time

T0 = time.perf_counter()
import json  # noqa: E402
import sys  # noqa: E402

SEED_OPTIMIZERS = [
    ("SGD", {}),
    ("SGD", dict(decay=1e-3, momentum=0.9)),
    ("AdaGrad", dict(decay=1e-4)),
    ("RMSProp", dict(lr=0.02, decay=1e-5, rho=0.999)),
    ("Adam", dict(lr=0.05, decay=5e-7)),
]


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
    impl, what, dtype = sys.argv[1:4]
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
    else:
        np.random.seed(0)
    X, y = spiral_data(samples=100, classes=3)
    configs = SEED_OPTIMIZERS if what == "seed-all" else SEED_OPTIMIZERS[-1:]
    losses = []
    for opt_name, kwargs in configs:
        if impl == "torch":
            losses.append(torch_epoch(mod, np, opt_name, kwargs, X, y))
        else:
            losses.append(notebook_epoch(mod, np, opt_name, kwargs, X, y))
    t_end = time.perf_counter()
    print(json.dumps({"import_s": t_import - T0, "step_s": t_end - t_import,
                      "in_process_s": t_end - T0, "losses": losses}))


if __name__ == "__main__":
    main()
