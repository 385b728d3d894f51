"""Numba kernel of the trunk orientation filter (private; the public wrapper is `analysis.orientation`).

One block kernel `_run(t, acc, gyro, state, params, out)` walks the samples in order and updates
`state` in place, so any split of a recording into blocks gives bitwise identical output.

Vectors are in the sensor frame. `g` is the unit "up" vector (the direction the accelerometer reads
when still), `n` the neutral up, `a` the flexion axis (perpendicular to `n`, pointing to the lifter's
left, so a positive rotation about it is forward flexion) and `f = a x n` the lifter's forward.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# state layout (float64 vector)
G0, BIAS0, N0, A0, F0, N_FIRST0 = 0, 3, 6, 9, 12, 15
T_PREV, STARTED, GYRO_PREV0, STILL_RUN, STILL_SUM0 = 18, 19, 20, 23, 24
BIAS_TIME, CALIBRATED, NEUTRAL_T, DECIDED, DECIDED_T, MAX_TILT_COS = 27, 28, 29, 30, 31, 32
S0, REJECT_TIME, ACC_LP0, FLEX_PREV, SETTLE, ACC_SLOW0 = 33, 39, 40, 43, 44, 45
STATE_SIZE = 48

# params layout
GAIN, REJECT_COS, REJECT_MPS2, RECOVERY_S, STILL_GYRO, STILL_ACC, STILL_TIME = 0, 1, 2, 3, 4, 5, 6
BIAS_TAU, REFRESH_COS, GAP_S, DECIDE_COS, ACC_ONLY, ACC_TAU, GRAVITY = 7, 8, 9, 10, 11, 12, 13
GATHER_COS, SETTLE_S, SETTLE_GAIN, STILL_GYRO_FIRST, ACC_SLOW_TAU = 14, 15, 16, 17, 18
PARAMS_SIZE = 19

# output rows
FLEXION, LATERAL, FLEXION_RATE, TWIST_RATE, STILL, CALIBRATED_OUT = 0, 1, 2, 3, 4, 5
OUT_ROWS = 6

DEG = 180.0 / math.pi


def new_state() -> np.ndarray:
    state = np.zeros(STATE_SIZE)
    state[NEUTRAL_T] = np.nan
    state[DECIDED_T] = np.nan
    state[MAX_TILT_COS] = 1.0
    return state


@njit(cache=True, error_model="numpy")
def _normalize(v, i):
    norm = math.sqrt(v[i] * v[i] + v[i + 1] * v[i + 1] + v[i + 2] * v[i + 2])
    v[i] /= norm
    v[i + 1] /= norm
    v[i + 2] /= norm


@njit(cache=True, error_model="numpy")
def _set_axes(state, ax, ay, az):
    """Set the flexion axis to (ax, ay, az) made perpendicular to n, and the forward axis f = a x n."""
    nx, ny, nz = state[N0], state[N0 + 1], state[N0 + 2]
    d = ax * nx + ay * ny + az * nz
    ax, ay, az = ax - d * nx, ay - d * ny, az - d * nz
    norm = math.sqrt(ax * ax + ay * ay + az * az)
    if norm < 1e-9:  # the candidate is parallel to n: any horizontal axis will do
        ax, ay, az = (0.0, -nz, ny) if abs(nx) < 0.9 else (-nz, 0.0, nx)
        norm = math.sqrt(ax * ax + ay * ay + az * az)
    ax, ay, az = ax / norm, ay / norm, az / norm
    state[A0], state[A0 + 1], state[A0 + 2] = ax, ay, az
    state[F0] = ay * nz - az * ny
    state[F0 + 1] = az * nx - ax * nz
    state[F0 + 2] = ax * ny - ay * nx


@njit(cache=True, error_model="numpy")
def _start(state, t, acc, params):
    """(Re)initialise the tilt from one accelerometer sample (first sample, or after a gap)."""
    norm = math.sqrt(acc[0] * acc[0] + acc[1] * acc[1] + acc[2] * acc[2])
    for k in range(3):
        state[G0 + k] = acc[k] / norm if norm > 0.0 else (1.0 if k == 2 else 0.0)
        state[ACC_LP0 + k] = acc[k]
        state[ACC_SLOW0 + k] = acc[k]
        state[GYRO_PREV0 + k] = 0.0
        state[STILL_SUM0 + k] = 0.0
    state[STILL_RUN] = 0.0
    state[REJECT_TIME] = 0.0
    state[SETTLE] = params[SETTLE_S]
    if state[STARTED] == 0.0:
        state[STARTED] = 1.0
        for k in range(3):
            state[N0 + k] = state[G0 + k]
        # until the movement decides, assume the sensor's z axis is the skin normal (front-back)
        _set_axes(state, state[N0 + 1], -state[N0], 0.0)
    state[T_PREV] = t


@njit(cache=True, error_model="numpy")
def _decide_axis(state, gx, gy, gz):
    """Flexion axis = principal axis of the horizontal rotation so far, signed by the current excursion."""
    nx, ny, nz = state[N0], state[N0 + 1], state[N0 + 2]
    # e1, e2: a basis of the plane perpendicular to n
    e1x, e1y, e1z = (0.0, -nz, ny) if abs(nx) < 0.9 else (-nz, 0.0, nx)
    norm = math.sqrt(e1x * e1x + e1y * e1y + e1z * e1z)
    e1x, e1y, e1z = e1x / norm, e1y / norm, e1z / norm
    e2x, e2y, e2z = ny * e1z - nz * e1y, nz * e1x - nx * e1z, nx * e1y - ny * e1x
    sxx, sxy, sxz = state[S0], state[S0 + 1], state[S0 + 2]
    syy, syz, szz = state[S0 + 3], state[S0 + 4], state[S0 + 5]
    # S e1 and S e2, then the 2 x 2 projected matrix
    s1x = sxx * e1x + sxy * e1y + sxz * e1z
    s1y = sxy * e1x + syy * e1y + syz * e1z
    s1z = sxz * e1x + syz * e1y + szz * e1z
    s2x = sxx * e2x + sxy * e2y + sxz * e2z
    s2y = sxy * e2x + syy * e2y + syz * e2z
    s2z = sxz * e2x + syz * e2y + szz * e2z
    p11 = e1x * s1x + e1y * s1y + e1z * s1z
    p12 = e1x * s2x + e1y * s2y + e1z * s2z
    p22 = e2x * s2x + e2y * s2y + e2z * s2z
    phi = 0.5 * math.atan2(2.0 * p12, p11 - p22)
    c, s = math.cos(phi), math.sin(phi)
    ax, ay, az = c * e1x + s * e2x, c * e1y + s * e2y, c * e1z + s * e2z
    # the excursion's own axis g x n: forward flexion turns the up vector about +a
    ex, ey, ez = gy * nz - gz * ny, gz * nx - gx * nz, gx * ny - gy * nx
    if p11 + p22 <= 0.0:  # no gyroscope (or no rotation): the excursion axis itself
        ax, ay, az = ex, ey, ez
    elif ax * ex + ay * ey + az * ez < 0.0:
        ax, ay, az = -ax, -ay, -az
    _set_axes(state, ax, ay, az)


@njit(cache=True, error_model="numpy")
def _calibrate(state, t, params):
    """Neutral up = mean accelerometer direction of the current still run."""
    sx, sy, sz = state[STILL_SUM0], state[STILL_SUM0 + 1], state[STILL_SUM0 + 2]
    norm = math.sqrt(sx * sx + sy * sy + sz * sz)
    sx, sy, sz = sx / norm, sy / norm, sz / norm
    if state[CALIBRATED] == 0.0:
        state[CALIBRATED] = 1.0
        state[NEUTRAL_T] = t
        state[MAX_TILT_COS] = 1.0  # excursions count from the neutral from now on
        state[N_FIRST0], state[N_FIRST0 + 1], state[N_FIRST0 + 2] = sx, sy, sz
    elif sx * state[N_FIRST0] + sy * state[N_FIRST0 + 1] + sz * state[N_FIRST0 + 2] < params[REFRESH_COS]:
        return  # still, but sitting or bent over (or creeping away): not the neutral stance
    state[N0], state[N0 + 1], state[N0 + 2] = sx, sy, sz
    _set_axes(state, state[A0], state[A0 + 1], state[A0 + 2])


@njit(cache=True, error_model="numpy")
def _step(t_all, acc_all, gyro_all, state, params, out, i):
    t = t_all[i]
    dt = t - state[T_PREV]
    if state[STARTED] == 0.0 or dt > params[GAP_S]:
        _start(state, t, acc_all[i], params)
        dt = 0.0
    state[T_PREV] = t
    acc_only = params[ACC_ONLY] != 0.0
    ax, ay, az = acc_all[i, 0], acc_all[i, 1], acc_all[i, 2]
    g0, g1, g2 = gyro_all[i, 0], gyro_all[i, 1], gyro_all[i, 2]
    acc_norm = math.sqrt(ax * ax + ay * ay + az * az)
    bx, by, bz = state[BIAS0], state[BIAS0 + 1], state[BIAS0 + 2]
    wx, wy, wz = g0 - bx, g1 - by, g2 - bz
    gx, gy, gz = state[G0], state[G0 + 1], state[G0 + 2]
    k_lp = dt / (params[ACC_TAU] + dt)
    lx = state[ACC_LP0] + k_lp * (ax - state[ACC_LP0])
    ly = state[ACC_LP0 + 1] + k_lp * (ay - state[ACC_LP0 + 1])
    lz = state[ACC_LP0 + 2] + k_lp * (az - state[ACC_LP0 + 2])
    state[ACC_LP0], state[ACC_LP0 + 1], state[ACC_LP0 + 2] = lx, ly, lz

    if acc_only:
        norm = math.sqrt(lx * lx + ly * ly + lz * lz)
        gx, gy, gz = lx / norm, ly / norm, lz / norm
        # the sagittal plane is decided on a slower tilt, which walking does not shake
        k_slow = dt / (params[ACC_SLOW_TAU] + dt)
        for j in range(3):
            state[ACC_SLOW0 + j] += k_slow * (acc_all[i, j] - state[ACC_SLOW0 + j])
        sx, sy, sz = state[ACC_SLOW0], state[ACC_SLOW0 + 1], state[ACC_SLOW0 + 2]
        norm = math.sqrt(sx * sx + sy * sy + sz * sz)
        dx, dy, dz = sx / norm, sy / norm, sz / norm
        ex, ey, ez = ax - lx, ay - ly, az - lz
        moving = ex * ex + ey * ey + ez * ez >= params[STILL_ACC] * params[STILL_ACC]
    else:
        # predict: the up vector turns by -w dt (trapezoidal rate), second-order rotation
        h = 0.5 * dt
        rx = -h * (wx + state[GYRO_PREV0] - bx)
        ry = -h * (wy + state[GYRO_PREV0 + 1] - by)
        rz = -h * (wz + state[GYRO_PREV0 + 2] - bz)
        cx, cy, cz = ry * gz - rz * gy, rz * gx - rx * gz, rx * gy - ry * gx
        ccx, ccy, ccz = ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx
        gx, gy, gz = gx + cx + 0.5 * ccx, gy + cy + 0.5 * ccy, gz + cz + 0.5 * ccz
        # correct toward the accelerometer unless it is busy with acceleration (x-io Fusion manner)
        dot = gx * ax + gy * ay + gz * az
        within = dot > params[REJECT_COS] * acc_norm * math.sqrt(gx * gx + gy * gy + gz * gz)
        accepted = within and abs(acc_norm - params[GRAVITY]) < params[REJECT_MPS2]
        if accepted:
            state[REJECT_TIME] = 0.0
        else:
            state[REJECT_TIME] += dt
        gain = params[GAIN]
        if state[SETTLE] > 0.0:  # after a (re)start: a high gain ramping down, no rejection (as Fusion)
            state[SETTLE] = max(0.0, state[SETTLE] - dt)
            gain += (params[SETTLE_GAIN] - gain) * state[SETTLE] / params[SETTLE_S]
            accepted = True
        if accepted or state[REJECT_TIME] > params[RECOVERY_S]:
            k = min(gain * dt, 1.0) / acc_norm
            gx, gy, gz = gx + k * (ax - acc_norm * gx), gy + k * (ay - acc_norm * gy), gz + k * (
                az - acc_norm * gz
            )
        inv = 1.0 / math.sqrt(gx * gx + gy * gy + gz * gz)
        gx, gy, gz = gx * inv, gy * inv, gz * inv
        limit = params[STILL_GYRO] if state[BIAS_TIME] > 0.0 else params[STILL_GYRO_FIRST]
        moving = wx * wx + wy * wy + wz * wz >= limit * limit
        dx, dy, dz = gx, gy, gz
    state[G0], state[G0 + 1], state[G0 + 2] = gx, gy, gz
    state[GYRO_PREV0], state[GYRO_PREV0 + 1], state[GYRO_PREV0 + 2] = g0, g1, g2

    # stillness: bias and neutral pose
    if moving or abs(acc_norm - params[GRAVITY]) >= params[STILL_ACC]:
        state[STILL_RUN] = 0.0
        state[STILL_SUM0], state[STILL_SUM0 + 1], state[STILL_SUM0 + 2] = 0.0, 0.0, 0.0
    else:
        state[STILL_RUN] += dt
        state[STILL_SUM0] += ax
        state[STILL_SUM0 + 1] += ay
        state[STILL_SUM0 + 2] += az
    still = state[STILL_RUN] >= params[STILL_TIME]
    if still:
        if not acc_only:
            state[BIAS_TIME] += dt
            kb = dt / min(params[BIAS_TAU], state[BIAS_TIME])
            state[BIAS0] += kb * wx
            state[BIAS0 + 1] += kb * wy
            state[BIAS0 + 2] += kb * wz
        _calibrate(state, t, params)

    # the sagittal plane, once the first large excursion shows it
    nx, ny, nz = state[N0], state[N0 + 1], state[N0 + 2]
    du = dx * nx + dy * ny + dz * nz
    # not while the gyroscope tilt settles after a gap
    deciding = state[DECIDED] == 0.0 and (acc_only or state[SETTLE] == 0.0)
    if deciding and du < params[GATHER_COS]:
        # rotation during the first large excursion (not walking or swaying) shows the flexion axis
        state[S0] += dt * wx * wx
        state[S0 + 1] += dt * wx * wy
        state[S0 + 2] += dt * wx * wz
        state[S0 + 3] += dt * wy * wy
        state[S0 + 4] += dt * wy * wz
        state[S0 + 5] += dt * wz * wz
    if deciding and du < state[MAX_TILT_COS]:
        state[MAX_TILT_COS] = du
        if du < params[DECIDE_COS]:
            state[DECIDED] = 1.0
            state[DECIDED_T] = t
            _decide_axis(state, dx, dy, dz)
        else:  # provisional: the axis of the largest excursion so far
            _set_axes(state, dy * nz - dz * ny, dz * nx - dx * nz, dx * ny - dy * nx)
    gu = gx * nx + gy * ny + gz * nz

    fa_x, fa_y, fa_z = state[A0], state[A0 + 1], state[A0 + 2]
    gf = gx * state[F0] + gy * state[F0 + 1] + gz * state[F0 + 2]
    ga = gx * fa_x + gy * fa_y + gz * fa_z
    # Tait-Bryan (ZYX) angles of the trunk from neutral: up = (-sin f, cos f sin l, cos f cos l)
    flexion = DEG * math.asin(max(-1.0, min(1.0, -gf)))
    out[FLEXION, i] = flexion
    out[LATERAL, i] = DEG * math.atan2(ga, gu)
    if acc_only:
        out[FLEXION_RATE, i] = (flexion - state[FLEX_PREV]) / dt if dt > 0.0 else 0.0
        out[TWIST_RATE, i] = math.nan
    else:
        out[FLEXION_RATE, i] = DEG * (wx * fa_x + wy * fa_y + wz * fa_z)
        out[TWIST_RATE, i] = -DEG * (wx * nx + wy * ny + wz * nz)
    state[FLEX_PREV] = flexion
    out[STILL, i] = 1.0 if still else 0.0
    out[CALIBRATED_OUT, i] = state[CALIBRATED]


@njit(cache=True, error_model="numpy")
def _run(t, acc, gyro, state, params, out):
    """Filter a block: t (n,), acc (n, 3), gyro (n, 3) -> out (OUT_ROWS, n); state updated in place."""
    for i in range(t.shape[0]):
        _step(t, acc, gyro, state, params, out, i)
