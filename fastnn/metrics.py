"""The book's accuracy classes and the training history of ``Model.train``."""
import numpy as np

__all__ = ["Accuracy", "Accuracy_Categorical", "Accuracy_Regression", "History"]


class Accuracy:
    """The book's accuracy base class: ``calculate`` is the mean of ``compare``.

    As in the book's final code (chapter 19 on) it also accumulates matches
    and samples over the batches of a pass: ``new_pass()`` resets,
    ``calculate_accumulated()`` is the pass's accuracy.  Unlike the book's,
    the counters start at zero without ``new_pass()``, so chapter-18 code,
    which never calls it, works too.
    """

    accumulated_sum = 0
    accumulated_count = 0

    def calculate(self, predictions, y):
        comparisons = self.compare(predictions, y)
        accuracy = np.mean(comparisons)
        self.accumulated_sum += np.sum(comparisons)
        self.accumulated_count += len(comparisons)
        return accuracy

    def calculate_accumulated(self):
        return self.accumulated_sum / self.accumulated_count

    def new_pass(self):
        self.accumulated_sum = 0
        self.accumulated_count = 0


def _compared(accuracy, predictions, y):
    """``predictions`` and ``y`` as arrays of one shape, else a clear error.

    The book compares them element by element, so a column of predictions
    against a flat vector of labels, ``(n, 1)`` against ``(n,)``, broadcasts
    to an ``(n, n)`` table and silently gives a meaningless accuracy."""
    predictions, y = np.asarray(predictions), np.asarray(y)
    if predictions.shape != y.shape:
        hint = ""
        if predictions.ndim == 2 and predictions.shape[1] == 1 and y.shape == predictions.shape[:1]:
            hint = " (labels of one output are a column: y.reshape(-1, 1), as the book does)"
        raise ValueError(f"{type(accuracy).__name__}: predictions have shape {predictions.shape} "
                         f"but y has shape {y.shape}; they are compared element by element, so "
                         f"the shapes must be equal{hint}")
    return predictions, y


class Accuracy_Categorical(Accuracy):
    """Share of predicted class indices equal to the labels (one-hot labels are argmax-ed).

    ``binary=True`` (chapter 16's logistic regression, after a sigmoid) compares
    the 0/1 predictions with labels of their shape, ``y.reshape(-1, 1)``.
    ``Model`` computes both inside the compiled loop: the categorical one on the
    argmax of a softmax output, the binary one on ``(output > 0.5) == y`` after
    a final sigmoid with binary cross-entropy.
    """

    def __init__(self, *, binary=False):
        self.binary = binary

    def init(self, y, reinit=False):
        pass

    def compare(self, predictions, y):
        y = np.asarray(y)
        if not self.binary and len(y.shape) == 2:
            y = np.argmax(y, axis=1)
        predictions, y = _compared(self, predictions, y)
        return predictions == y


class Accuracy_Regression(Accuracy):
    """Share of predictions within ``precision = std(y) / 250`` of the targets (chapter 17).

    ``init(y)`` sets the precision once (again with ``reinit=True``), as the book does;
    ``Model.train`` calls it with its ``y`` and the compiled loop compares with it.
    """

    def __init__(self):
        self.precision = None

    def init(self, y, reinit=False):
        if self.precision is None or reinit:
            self.precision = np.std(y) / 250

    def compare(self, predictions, y):
        predictions, y = _compared(self, predictions, y)
        return np.absolute(predictions - y) < self.precision


class History:
    """Per-epoch record of ``Model.train``: four float64/int64 arrays of one length.

    ``epoch`` counts from 1, ``loss`` and ``accuracy`` are those of the epoch's
    forward pass (before its update, as the book prints them) and ``lr`` is the
    learning rate its update used (the book's printed ``lr``).
    """

    COLUMNS = ("epoch", "loss", "accuracy", "lr")

    def __init__(self, epoch=None, loss=None, accuracy=None, lr=None):
        # np.empty, not np.zeros: nnfs.init() makes np.zeros return float32
        self.epoch = np.empty(0, np.int64) if epoch is None else np.asarray(epoch, np.int64)
        self.loss = np.empty(0) if loss is None else np.asarray(loss, np.float64)
        self.accuracy = np.empty(0) if accuracy is None else np.asarray(accuracy, np.float64)
        self.lr = np.empty(0) if lr is None else np.asarray(lr, np.float64)

    def __len__(self):
        return len(self.epoch)

    def __getitem__(self, column):
        if column not in self.COLUMNS:
            raise KeyError(f"History has columns {self.COLUMNS}, not {column!r}")
        return getattr(self, column)

    def as_dict(self):
        return {c: getattr(self, c) for c in self.COLUMNS}

    def __repr__(self):
        if not len(self):
            return "History(0 epochs)"
        return (f"History({len(self)} epochs, last: epoch {self.epoch[-1]}, "
                f"loss {self.loss[-1]:.3f}, accuracy {self.accuracy[-1]:.3f}, lr {self.lr[-1]})")

    def _followed_by(self, other):
        """This history with ``other`` appended, its epochs renumbered to continue."""
        offset = int(self.epoch[-1]) if len(self) else 0
        return History(np.concatenate([self.epoch, other.epoch + offset]),
                       np.concatenate([self.loss, other.loss]),
                       np.concatenate([self.accuracy, other.accuracy]),
                       np.concatenate([self.lr, other.lr]))
