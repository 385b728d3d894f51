"""Numba kernels: causal smoothing and hysteresis turning-point (zig-zag) detection.

`_lowpass2_run`: two cascaded one-pole low-passes with time constant tau_s, using each sample's
own dt (exact under jitter and gaps).

`_zigzag_run`: confirms a maximum once the signal has fallen `hysteresis` below the running
maximum (and a minimum symmetrically), so every turning point is reported at the first sample
that proves it, never earlier.
"""

from __future__ import annotations

from numba import njit

# low-pass state: started, y1, y2, t_prev
LP_STATE_SIZE = 4
# zig-zag state: direction (+1 seeking a maximum, -1 a minimum, 0 either), max, max index, min, min index
ZZ_DIR, ZZ_MAX, ZZ_MAX_I, ZZ_MIN, ZZ_MIN_I, ZZ_STARTED = range(6)
ZZ_STATE_SIZE = 6


@njit(cache=True)
def _lowpass2_run(t, x, tau_s, state, out):
    for i in range(t.size):
        if state[0] == 0.0:
            state[0] = 1.0
            state[1] = x[i]
            state[2] = x[i]
        else:
            dt = t[i] - state[3]
            a = dt / (tau_s + dt)
            state[1] += a * (x[i] - state[1])
            state[2] += a * (state[1] - state[2])
        state[3] = t[i]
        out[i] = state[2]


@njit(cache=True)
def _zigzag_run(x, first_index, hysteresis, state, ext_index, ext_confirm, ext_kind):
    """Turning points of x; returns how many were written.

    ext_index: global index of the extreme sample; ext_confirm: global index of the sample that
    proved it; ext_kind: +1 maximum, -1 minimum. Output arrays must hold len(x) entries.
    """
    n_ext = 0
    for i in range(x.size):
        y = x[i]
        gi = first_index + i
        if state[ZZ_STARTED] == 0.0:
            state[ZZ_STARTED] = 1.0
            state[ZZ_MAX] = y
            state[ZZ_MIN] = y
            state[ZZ_MAX_I] = gi
            state[ZZ_MIN_I] = gi
        if y > state[ZZ_MAX]:
            state[ZZ_MAX] = y
            state[ZZ_MAX_I] = gi
        if y < state[ZZ_MIN]:
            state[ZZ_MIN] = y
            state[ZZ_MIN_I] = gi
        if state[ZZ_DIR] >= 0.0 and state[ZZ_MAX] - y >= hysteresis:
            ext_index[n_ext] = state[ZZ_MAX_I]
            ext_confirm[n_ext] = gi
            ext_kind[n_ext] = 1
            n_ext += 1
            state[ZZ_DIR] = -1.0
            state[ZZ_MIN] = y
            state[ZZ_MIN_I] = gi
        elif state[ZZ_DIR] <= 0.0 and y - state[ZZ_MIN] >= hysteresis:
            ext_index[n_ext] = state[ZZ_MIN_I]
            ext_confirm[n_ext] = gi
            ext_kind[n_ext] = -1
            n_ext += 1
            state[ZZ_DIR] = 1.0
            state[ZZ_MAX] = y
            state[ZZ_MAX_I] = gi
    return n_ext


@njit(cache=True)
def _vertical_run(t, acc_dev, tau_s, mean_tau_s, state, velocity_out, height_out):
    """Vertical velocity (m/s) and height (m) of the sensor from acc_dev = |acc| - g.

    acc_dev is, to first order, the vertical linear acceleration whatever the sensor's orientation.
    Its slow mean (time constant mean_tau_s: the sensor's own reading of gravity, bias and scale
    error) is taken off, then two leaky integrators (time constant tau_s) give velocity and height
    that return to zero at rest, so drift cannot build up. state: started, v, h, t_prev, mean.
    """
    for i in range(t.size):
        if state[0] == 0.0:
            state[0] = 1.0
            state[4] = acc_dev[i]
        else:
            dt = t[i] - state[3]
            state[4] += dt / (mean_tau_s + dt) * (acc_dev[i] - state[4])
            state[1] += dt * (acc_dev[i] - state[4] - state[1] / tau_s)
            state[2] += dt * (state[1] - state[2] / tau_s)
        state[3] = t[i]
        velocity_out[i] = state[1]
        height_out[i] = state[2]
