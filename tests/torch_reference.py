"""Run the same network in torch, for parity tests: outputs, final states, gradients.

The loss whose gradients are compared is a fixed random linear functional of
every returned array, so that every output element and every final state
contributes with its own weight.
"""

import numpy as np

torch = __import__("pytest").importorskip("torch")

TORCH_CLASSES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def torch_module(kind, options):
    """The torch module with rnngrad's constructor options (float64)."""
    return getattr(torch.nn, TORCH_CLASSES[kind])(**options).double()


def torch_forward(module, tx, lengths=None, hx=None, batch_first=False):
    """``(output, finals)`` tensors of ``module`` on ``tx``; ``lengths`` go through a packed sequence, padded to T."""
    if lengths is None:
        out, final = module(tx, hx)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            tx, torch.as_tensor(lengths), batch_first=batch_first, enforce_sorted=False
        )
        out, final = module(packed, hx)
        total = tx.shape[1] if batch_first else tx.shape[0]
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=batch_first, total_length=total)
    return out, final if isinstance(final, tuple) else (final,)


def torch_run(kind, options, params, x, lengths=None, initial_state=None, cotangents=None):
    """Forward and backward in torch.

    Returns ``(output, finals, grads)``: finals a tuple of final-state arrays,
    grads a dict with one entry per parameter key plus ``"x"`` and
    ``"initial_state"`` (a tuple), when ``cotangents`` is given.
    """
    module = torch_module(kind, options)
    module.load_state_dict({key: torch.from_numpy(np.array(value)) for key, value in params.items()})
    tx = torch.tensor(x, requires_grad=True)
    t_state = None
    if initial_state is not None:
        parts = initial_state if isinstance(initial_state, tuple) else (initial_state,)
        t_state = tuple(torch.tensor(p, requires_grad=True) for p in parts)
    hx = None if t_state is None else (t_state if kind == "lstm" else t_state[0])
    out, finals = torch_forward(module, tx, lengths, hx, options.get("batch_first", False))
    result_out = out.detach().numpy()
    result_finals = tuple(f.detach().numpy() for f in finals)
    if cotangents is None:
        return result_out, result_finals, None
    loss = (out * torch.from_numpy(cotangents[0])).sum()
    for f, w in zip(finals, cotangents[1:]):
        loss = loss + (f * torch.from_numpy(w)).sum()
    loss.backward()
    grads = {key: p.grad.numpy() for key, p in module.named_parameters()}
    grads["x"] = tx.grad.numpy()
    if t_state is not None:
        grads["initial_state"] = tuple(p.grad.numpy() for p in t_state)
    return result_out, result_finals, grads
