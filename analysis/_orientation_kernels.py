"""Numba kernel of the trunk orientation filter (private; the public wrapper is `analysis.orientation`).

One block kernel `_run(t, acc, gyro, state, params, out, flags)` walks the samples in order and
updates `state` in place, so any split of a recording into blocks gives bitwise identical output.
The state vector is loaded into local scalars once per block and stored back at the end. Per chunk of
256 samples, a tilt pass (the up vector, stillness, gyroscope bias) hands the up vector and the rate to
a trunk pass (neutral, sagittal plane), which computes the outputs of each run of samples in one trunk
frame in a loop that vectorizes; the angles follow in a vectorized pass over the block (no library
call inside the filter loops).

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
SIGN_FINAL, BACK_T, FLIPPED_T, REFRESHED_T, TURN_RUN, TURN_ACC0, TURN_GYRO0 = 48, 49, 50, 51, 52, 53, 57
REANCHORED_T, SHIFTED_T, SHIFTS, SHIFT_COS_LAST, CAND0, CAND_T, CHECKED_T = 60, 61, 62, 63, 64, 67, 68
GYRO_HELD = 69
STANDING0 = 70  # the standing pose last taken in place of a first neutral that was not (at REANCHORED_T)
STATE_SIZE = 73

# params layout
GAIN, REJECT_COS, REJECT_MPS2, RECOVERY_S, STILL_GYRO, STILL_ACC, STILL_TIME = 0, 1, 2, 3, 4, 5, 6
BIAS_TAU, REFRESH_COS, GAP_S, DECIDE_COS, ACC_ONLY, ACC_TAU, GRAVITY = 7, 8, 9, 10, 11, 12, 13
GATHER_COS, SETTLE_S, SETTLE_GAIN, STILL_GYRO_FIRST, ACC_SLOW_TAU = 14, 15, 16, 17, 18
SIGN_COS, SIGN_SIN, RETURN_COS, RETURN_SIN, SIGN_CHECK_S = 19, 20, 21, 22, 23
BIAS_CHECK_S, BIAS_CHECK_COS, BIAS_CHECK_MAX = 24, 25, 26
FIRST_MAX_SIN, STANDING_MAX_SIN, REANCHOR_COS, SHIFT_COS, SAME_COS, SAME_SIN = 27, 28, 29, 30, 31, 32
GYRO_GLITCH, GAP_KEEP_COS = 33, 34
PARAMS_SIZE = 35

# output rows: `out` (float64; UP is scratch) and `flags` (bool)
FLEXION, LATERAL, FLEXION_RATE, TWIST_RATE, ACC_NORM, UP = 0, 1, 2, 3, 4, 5
OUT_ROWS = 6
STILL, CALIBRATED_OUT, REANCHORED_OUT, FLIPPED_OUT = 0, 1, 2, 3
FLAG_ROWS = 4

DEG = 180.0 / math.pi


def new_state() -> np.ndarray:
    state = np.zeros(STATE_SIZE)
    state[NEUTRAL_T] = np.nan
    state[DECIDED_T] = np.nan
    state[BACK_T] = np.nan
    state[FLIPPED_T] = np.nan
    state[REFRESHED_T] = -np.inf
    state[REANCHORED_T] = np.nan
    state[SHIFTED_T] = np.nan
    state[CAND_T] = -np.inf
    state[CHECKED_T] = -np.inf
    state[MAX_TILT_COS] = 1.0
    return state


@njit(cache=True, error_model="numpy", inline="always")
def _unit_near_one(x, y, z):
    """(x, y, z) / |(x, y, z)|, for a vector that a small step took off the unit sphere.

    The gyroscope step and the correction leave |g|^2 = 1 + e with |e| ~ 1e-5: then 1 / sqrt(1 + e) is its
    Taylor series to e^3 (the e^4 term, 0.27 e^4, is below 1e-16 for |e| < 1e-4), which is ~1 ulp of the
    exact quotient and takes no square root or division (they sit on the filter's sample-to-sample chain).
    """
    norm_sq = x * x + y * y + z * z
    e = norm_sq - 1.0
    if abs(e) < 1e-4:
        inv = 1.0 - e * (0.5 - e * (0.375 - e * 0.3125))
    else:  # after a restart, the settle gain moves g by more
        inv = 1.0 / math.sqrt(norm_sq)
    return x * inv, y * inv, z * inv


@njit(cache=True, error_model="numpy", inline="always")
def _axes(nx, ny, nz, ax, ay, az):
    """Flexion axis (ax, ay, az) made perpendicular to n, and the forward axis f = a x n: (a, f)."""
    d = ax * nx + ay * ny + az * nz
    ax, ay, az = ax - d * nx, ay - d * ny, az - d * nz
    if ax * ax + ay * ay + az * az < 1e-18:  # the candidate is parallel to n: any horizontal axis will do
        ax, ay, az = (0.0, -nz, ny) if abs(nx) < 0.9 else (-nz, 0.0, nx)
    # a refresh of a still neutral moves n by ~1e-6 rad, so the old axis stays a unit vector but for ~1e-12
    ax, ay, az = _unit_near_one(ax, ay, az)
    return ax, ay, az, ay * nz - az * ny, az * nx - ax * nz, ax * ny - ay * nx


@njit(cache=True, error_model="numpy")
def _principal_axis(nx, ny, nz, sxx, sxy, sxz, syy, syz, szz, gx, gy, gz):
    """Flexion axis = principal axis of the horizontal rotation scatter S, signed by the excursion g."""
    # e1, e2: a basis of the plane perpendicular to n
    e1x, e1y, e1z = (0.0, -nz, ny) if abs(nx) < 0.9 else (-nz, 0.0, nx)
    norm = math.sqrt(e1x * e1x + e1y * e1y + e1z * e1z)
    e1x, e1y, e1z = e1x / norm, e1y / norm, e1z / norm
    e2x, e2y, e2z = ny * e1z - nz * e1y, nz * e1x - nx * e1z, nx * e1y - ny * e1x
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
    dot = ax * ex + ay * ey + az * ez
    # no gyroscope or no rotation gathered (it happened while the tilt settled after a gap), or a rotation
    # more than 30 deg off the excursion's own axis: the excursion axis itself
    if p11 + p22 <= 0.0 or dot * dot < 0.75 * (ex * ex + ey * ey + ez * ez):
        return ex, ey, ez
    if dot < 0.0:
        return -ax, -ay, -az
    return ax, ay, az


@njit(cache=True, error_model="numpy", inline="always")
def _atan2(y, x):
    """atan2(y, x) in rad, branch-free so that a loop of it vectorizes; within 1 ulp of the C library.

    Octant reduction to z in [-0.21, 0.66], then the rational approximation of Cephes' atan
    (S. L. Moshier, Cephes Math Library 2.8).
    """
    ay, ax = abs(y), abs(x)
    swap = ay > ax
    num = ax if swap else ay
    den = ay if swap else ax
    c = 1.0 if num > 0.66 * den else 0.0  # above tan(33.4 deg): atan(u) = pi/4 + atan((u - 1) / (u + 1))
    z = (num - c * den) / (den + c * num)
    zz = z * z
    p = (((-8.750608600031904122785e-1 * zz - 1.615753718733365076637e1) * zz - 7.500855792314704667340e1) * zz
         - 1.228866684490136173410e2) * zz - 6.485021904942025371773e1
    q = ((((zz + 2.485846490142306297962e1) * zz + 1.650270098316988542046e2) * zz + 4.328810604912902668951e2)
         * zz + 4.853903996359136964868e2) * zz + 1.945506571482613964425e2
    r = 0.0 if den == 0.0 else c * (0.25 * math.pi) + (z + z * zz * p / q)
    r = 0.5 * math.pi - r if swap else r
    r = math.pi - r if math.copysign(1.0, x) < 0.0 else r
    return math.copysign(r, y)


# scratch rows of a chunk, handed from the tilt pass to the trunk pass: the up vector, the up vector that
# decides the sagittal plane (accelerometer-only), the bias-corrected rate, the mean up of the still run
# (while still), dt, and 1.0 once the tilt has settled after a (re)start
GX, DX, WX, MX, DT, SETTLED = 0, 3, 6, 9, 12, 13
SCRATCH_ROWS = 14
CHUNK = 256  # samples per pair of passes: the scratch stays in the L1 cache
REFRESH_EVERY_S = 0.1  # a still run refreshes the neutral (its mean up so far) at most this often (s)


@njit(cache=True, error_model="numpy", inline="always")
def _sign_check(forward, up, t, back_t, params):
    """The sign of the sagittal plane, checked once it is decided: it was decided on the first large excursion,
    taken to be forward, which a lean back (a stretch, a seated pull) can be. An excursion past SIGN_COS / SIN
    (the angle a lifter cannot lean back) on the backward side that returns within RETURN_COS / SIN of neutral
    in SIGN_CHECK_S (a bend, not lying down on a bench) shows it was, and the sign is turned round; one past it
    forward confirms the sign. forward, up: the up vector's components in the trunk frame.

    Returns (flip, final, back_t): turn the sign round now; the sign is final; when the trunk went past the
    angle backward (NaN: not now).
    """
    c, s = params[SIGN_COS], params[SIGN_SIN]
    # (each half-plane test with the side of forward it holds on: a half-plane alone takes flexion past 180 - the
    # angle, upside down, for the other side)
    if forward > 0.0 and forward * c - up * s > 0.0:  # flexion > the angle: a bend forward
        return False, True, math.nan
    if forward < 0.0 and forward * c + up * s < 0.0:  # flexion < -(the angle)
        return False, False, t if math.isnan(back_t) else back_t
    if math.isnan(back_t) or not (forward * params[RETURN_COS] + up * params[RETURN_SIN] > 0.0
                                  and forward * params[RETURN_COS] - up * params[RETURN_SIN] < 0.0):
        return False, False, back_t  # (not back near neutral yet)
    bend = t - back_t <= params[SIGN_CHECK_S]  # (else the lifter lay back for longer: not a bend)
    return bend, bend, math.nan


SEPARATE_S = 3.0  # still samples this far apart belong to two still runs with a movement between (the still test
# takes 1 s after any movement, so a wobble within one hold leaves them 1-2 s apart)


@njit(cache=True, error_model="numpy")
def _reanchor_check(mx, my, mz, n1x, n1y, n1z, t, state, params):
    """Does a still run with mean up m (at time t), that can be standing but is not within REFRESH_COS of the first
    neutral n1, take its place? Yes where n1 could not be standing (its skin normal, the sensor's z axis, past
    FIRST_MAX_SIN from horizontal: the set-up at a bar) and m is REANCHOR_COS from it (noted at REANCHORED_T); or
    where n1 could, m is SHIFT_COS from it turned about the skin normal (its z component the same but for
    SAME_SIN: not a seat or a bend, which tip the skin; the sign too: a bend twice the skin's tilt tips it as far
    the other way) and a separate earlier still run stood at m too (SAME_COS; that pose kept at CAND0, last seen
    at CAND_T): the sensor turned on the body, as a phone put back in its pack (noted at SHIFTED_T, SHIFTS,
    SHIFT_COS_LAST). Out of the filter's loop, which it would slow by a tenth inlined: it runs for such still runs
    only, every REFRESH_EVERY_S (CHECKED_T), and keeps its bookkeeping in `state`, not in values live through
    the loop."""
    state[CHECKED_T] = t
    d1 = mx * n1x + my * n1y + mz * n1z
    if abs(n1z) > params[FIRST_MAX_SIN]:
        if d1 >= params[REANCHOR_COS]:
            return False
        state[REANCHORED_T] = t
        return True
    if d1 >= params[SHIFT_COS] or abs(mz - n1z) > params[SAME_SIN]:
        return False
    cand_t = state[CAND_T]
    if cand_t > -math.inf and mx * state[CAND0] + my * state[CAND0 + 1] + mz * state[CAND0 + 2] >= params[SAME_COS]:
        if t - cand_t <= SEPARATE_S:
            state[CAND_T] = t
            return False
        state[CAND_T], state[SHIFTED_T], state[SHIFT_COS_LAST] = -math.inf, t, d1
        state[SHIFTS] += 1.0
        return True
    state[CAND0], state[CAND0 + 1], state[CAND0 + 2], state[CAND_T] = mx, my, mz, t
    return False


@njit(cache=True, error_model="numpy", inline="always")
def _trunk_outputs(out, flags, scratch, c0, j0, j1, acc_only, calibrated, nx, ny, nz, fax, fay, faz, ffx, ffy, ffz):
    """Outputs of the chunk's samples j0..j1-1 (block index c0 + j), all in one trunk frame (n, a, f): the up
    vector in the trunk frame (forward, left, up; the angles follow in a third pass) and the rates."""
    base = np.uint64(c0)
    for j in range(np.uint64(j0), np.uint64(j1)):  # unsigned: no negative-index wraparound, so it vectorizes
        i = base + j
        ux, uy, uz = scratch[GX, j], scratch[GX + 1, j], scratch[GX + 2, j]
        forward, left = -(ux * ffx + uy * ffy + uz * ffz), ux * fax + uy * fay + uz * faz
        up = ux * nx + uy * ny + uz * nz
        out[FLEXION, i], out[LATERAL, i], out[UP, i] = forward, left, up
        # d/dt atan2(forward, up) with d(up vector)/dt = -w x up: the rate about the flexion axis, plus what a
        # twist or a sideways rotation adds while the trunk is bent sideways
        wx, wy, wz = scratch[WX, j], scratch[WX + 1, j], scratch[WX + 2, j]
        w_n = wx * nx + wy * ny + wz * nz
        w_f = wx * ffx + wy * ffy + wz * ffz
        out[FLEXION_RATE, i] = DEG * (wx * fax + wy * fay + wz * faz
                                      + left * (forward * w_f - up * w_n) / max(forward * forward + up * up, 1e-9))
        out[TWIST_RATE, i] = -DEG * w_n
    flags[CALIBRATED_OUT, c0 + j0 : c0 + j1] = calibrated != 0.0
    if acc_only:
        for j in range(j0, j1):
            out[FLEXION_RATE, c0 + j] = scratch[DT, j]  # the rate follows from the flexion in the third pass
            out[TWIST_RATE, c0 + j] = math.nan


@njit(cache=True, error_model="numpy")
def _held_gyro(t, gyro, state, params):
    """The block's gyroscope (n, 3) with its glitches held, before `_run` takes it: a reading further than
    params[GYRO_GLITCH] (rad/s, vector norm) from the last one taken is replaced by that one, for up to two samples in
    a row (a longer change is taken in); not at a (re)start of the tilt (as `_run`: the first sample, or after a step
    longer than GAP_S). Returns `gyro` itself when no two readings in a row lie so far apart (a scan that vectorizes:
    a check in the filter's loop cost it a tenth), else a corrected copy; the readings held in a row so far are kept
    in state[GYRO_HELD]."""
    n = t.shape[0]
    glitch_sq = params[GYRO_GLITCH] * params[GYRO_GLITCH]
    px, py, pz = state[GYRO_PREV0], state[GYRO_PREV0 + 1], state[GYRO_PREV0 + 2]
    if n == 0:
        return gyro
    jumps = (gyro[0, 0] - px) ** 2 + (gyro[0, 1] - py) ** 2 + (gyro[0, 2] - pz) ** 2 > glitch_sq
    for i in range(1, n):
        d0, d1, d2 = gyro[i, 0] - gyro[i - 1, 0], gyro[i, 1] - gyro[i - 1, 1], gyro[i, 2] - gyro[i - 1, 2]
        jumps |= d0 * d0 + d1 * d1 + d2 * d2 > glitch_sq
    if not jumps:
        state[GYRO_HELD] = 0.0
        return gyro
    out = gyro.copy()
    held, t_prev, started = state[GYRO_HELD], state[T_PREV], state[STARTED]
    for i in range(n):
        if started == 0.0 or t[i] - t_prev > params[GAP_S]:
            started, held = 1.0, 0.0
        elif held < 2.0 and (out[i, 0] - px) ** 2 + (out[i, 1] - py) ** 2 + (out[i, 2] - pz) ** 2 > glitch_sq:
            out[i, 0], out[i, 1], out[i, 2], held = px, py, pz, held + 1.0
        else:
            held = 0.0
        px, py, pz, t_prev = out[i, 0], out[i, 1], out[i, 2], t[i]
    state[GYRO_HELD] = held
    return out


# "contract" lets LLVM fuse multiply-adds; each sample still runs the same code, so chunk invariance holds
@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _run(t, acc, gyro, state, params, out, flags):
    """Filter a block: t (n,), acc (n, 3), gyro (n, 3) -> out (OUT_ROWS, n), flags (FLAG_ROWS, n).

    Chunk by chunk, two passes: the tilt (the up vector, stillness and the gyroscope bias: the chain from
    one sample to the next) and then the trunk frame (neutral, sagittal plane, the outputs), which the tilt
    does not depend on. Each pass keeps fewer values live, and the trunk pass's outputs vectorize.
    """
    acc_only = params[ACC_ONLY] != 0.0
    gain_base, reject_cos, reject_mps2 = params[GAIN], params[REJECT_COS], params[REJECT_MPS2]
    recovery_s, gravity, gap_s = params[RECOVERY_S], params[GRAVITY], params[GAP_S]
    still_gyro, still_gyro_first = params[STILL_GYRO], params[STILL_GYRO_FIRST]
    still_acc, still_time, bias_tau = params[STILL_ACC], params[STILL_TIME], params[BIAS_TAU]
    refresh_cos, decide_cos, gather_cos = params[REFRESH_COS], params[DECIDE_COS], params[GATHER_COS]
    settle_s, settle_gain = params[SETTLE_S], params[SETTLE_GAIN]
    acc_tau, acc_slow_tau = params[ACC_TAU], params[ACC_SLOW_TAU]
    reject_cos_sq = reject_cos * abs(reject_cos)  # signed square: x > y is x |x| > y |y|

    gx, gy, gz = state[G0], state[G0 + 1], state[G0 + 2]
    bx, by, bz = state[BIAS0], state[BIAS0 + 1], state[BIAS0 + 2]
    nx, ny, nz = state[N0], state[N0 + 1], state[N0 + 2]
    fax, fay, faz = state[A0], state[A0 + 1], state[A0 + 2]
    ffx, ffy, ffz = state[F0], state[F0 + 1], state[F0 + 2]
    n1x, n1y, n1z = state[N_FIRST0], state[N_FIRST0 + 1], state[N_FIRST0 + 2]
    pgx, pgy, pgz = state[GYRO_PREV0], state[GYRO_PREV0 + 1], state[GYRO_PREV0 + 2]
    sumx, sumy, sumz = state[STILL_SUM0], state[STILL_SUM0 + 1], state[STILL_SUM0 + 2]
    lx, ly, lz = state[ACC_LP0], state[ACC_LP0 + 1], state[ACC_LP0 + 2]
    qx, qy, qz = state[ACC_SLOW0], state[ACC_SLOW0 + 1], state[ACC_SLOW0 + 2]
    sxx, sxy, sxz = state[S0], state[S0 + 1], state[S0 + 2]
    syy, syz, szz = state[S0 + 3], state[S0 + 4], state[S0 + 5]
    t_prev, started, still_run, bias_time = state[T_PREV], state[STARTED], state[STILL_RUN], state[BIAS_TIME]
    calibrated, neutral_t, decided, decided_t = state[CALIBRATED], state[NEUTRAL_T], state[DECIDED], state[DECIDED_T]
    max_tilt_cos, reject_time = state[MAX_TILT_COS], state[REJECT_TIME]
    sign_final, back_t, flipped_t = state[SIGN_FINAL], state[BACK_T], state[FLIPPED_T]
    refreshed_t = state[REFRESHED_T]
    flex_prev, settle = state[FLEX_PREV], state[SETTLE]
    turn_run, tax, tay, taz, tan = (state[TURN_RUN], state[TURN_ACC0], state[TURN_ACC0 + 1], state[TURN_ACC0 + 2],
                                    state[TURN_ACC0 + 3])
    sgx, sgy, sgz = state[TURN_GYRO0], state[TURN_GYRO0 + 1], state[TURN_GYRO0 + 2]
    bias_check_s, bias_check_cos = params[BIAS_CHECK_S], params[BIAS_CHECK_COS]
    bias_check_max_sq = params[BIAS_CHECK_MAX] * params[BIAS_CHECK_MAX]

    n = t.shape[0]
    scratch = np.empty((SCRATCH_ROWS, min(n, CHUNK)))
    flags[REANCHORED_OUT, :] = False  # (marked where they happen: rare)
    flags[FLIPPED_OUT, :] = False
    up_row = DX if acc_only else GX  # the up vector that decides the sagittal plane
    for c0 in range(0, n, CHUNK):
        base = np.uint64(c0)  # unsigned indices: no negative-index wraparound
        for j in range(np.uint64(min(CHUNK, n - c0))):  # the tilt pass
            i = base + j
            ti = t[i]
            ax, ay, az = acc[i, 0], acc[i, 1], acc[i, 2]
            dt = ti - t_prev
            if started == 0.0 or dt > gap_s:  # (re)start the tilt from this accelerometer sample, and settle ...
                norm = math.sqrt(ax * ax + ay * ay + az * az)
                # ... but not after a gap where it agrees with the tilt held through the gap: the lifter did not turn
                # in it, and settling would follow a walk's or a rep's acceleration for a second
                if (started == 0.0 or acc_only or abs(norm - gravity) >= reject_mps2
                        or gx * ax + gy * ay + gz * az <= params[GAP_KEEP_COS] * norm):
                    settle = settle_s
                gx, gy, gz = (ax / norm, ay / norm, az / norm) if norm > 0.0 else (0.0, 0.0, 1.0)
                lx, ly, lz = ax, ay, az
                qx, qy, qz = ax, ay, az
                pgx, pgy, pgz = 0.0, 0.0, 0.0
                sumx, sumy, sumz = 0.0, 0.0, 0.0
                still_run, reject_time = 0.0, 0.0
                turn_run, tax, tay, taz, tan, sgx, sgy, sgz = 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
                if started == 0.0:
                    started = 1.0
                    if calibrated == 0.0:  # (else a neutral known before the recording began: `TrunkOrientation`)
                        nx, ny, nz = gx, gy, gz
                    if decided != 2.0:  # (else the plane known with it)
                        # until the movement decides, assume the sensor's z axis is the skin normal (front-back)
                        fax, fay, faz, ffx, ffy, ffz = _axes(nx, ny, nz, ny, -nx, 0.0)
                dt = 0.0
            t_prev = ti
            g0, g1, g2 = gyro[i, 0], gyro[i, 1], gyro[i, 2]
            acc_sq = ax * ax + ay * ay + az * az
            acc_norm = math.sqrt(acc_sq)
            wx, wy, wz = g0 - bx, g1 - by, g2 - bz

            if acc_only:
                k_lp = dt / (acc_tau + dt)
                lx, ly, lz = lx + k_lp * (ax - lx), ly + k_lp * (ay - ly), lz + k_lp * (az - lz)
                norm = math.sqrt(lx * lx + ly * ly + lz * lz)
                gx, gy, gz = lx / norm, ly / norm, lz / norm
                # the sagittal plane is decided on a slower tilt, which walking does not shake
                k_slow = dt / (acc_slow_tau + dt)
                qx, qy, qz = qx + k_slow * (ax - qx), qy + k_slow * (ay - qy), qz + k_slow * (az - qz)
                norm = math.sqrt(qx * qx + qy * qy + qz * qz)
                scratch[DX, j], scratch[DX + 1, j], scratch[DX + 2, j] = qx / norm, qy / norm, qz / norm
                ex, ey, ez = ax - lx, ay - ly, az - lz
                moving = ex * ex + ey * ey + ez * ez >= still_acc * still_acc
            else:
                # predict: the up vector turns by -w dt (trapezoidal rate), second-order rotation
                h = 0.5 * dt
                rx, ry, rz = -h * (wx + pgx - bx), -h * (wy + pgy - by), -h * (wz + pgz - bz)
                cx, cy, cz = ry * gz - rz * gy, rz * gx - rx * gz, rx * gy - ry * gx
                ccx, ccy, ccz = ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx
                gx, gy, gz = gx + cx + 0.5 * ccx, gy + cy + 0.5 * ccy, gz + cz + 0.5 * ccz
                # correct toward the accelerometer unless it is busy with acceleration (x-io Fusion manner)
                # dot > reject_cos |acc| |g|, squared with signs (no square root)
                dot = gx * ax + gy * ay + gz * az
                within = dot * abs(dot) > reject_cos_sq * acc_sq * (gx * gx + gy * gy + gz * gz)
                accepted = within and abs(acc_norm - gravity) < reject_mps2
                reject_time = 0.0 if accepted else reject_time + dt
                gain = gain_base
                if settle > 0.0:  # after a (re)start: a high gain ramping down, no rejection (as Fusion)
                    settle = max(0.0, settle - dt)
                    gain += (settle_gain - gain) * settle / settle_s
                    accepted = True
                if accepted or reject_time > recovery_s:
                    kc = min(gain * dt, 1.0) / acc_norm
                    gx, gy, gz = gx + kc * (ax - acc_norm * gx), gy + kc * (ay - acc_norm * gy), gz + kc * (
                        az - acc_norm * gz
                    )
                gx, gy, gz = _unit_near_one(gx, gy, gz)
                limit = still_gyro if bias_time > 0.0 else still_gyro_first
                w_sq = wx * wx + wy * wy + wz * wz
                moving = w_sq >= limit * limit
                # the gyroscope reads a turn all along while the accelerometer reads gravity alone, its direction
                # steady (from the run's first sample, tax..tan): the bias is wrong (learnt in a slow movement taken
                # for stillness), and the raw rate's mean over the run is the bias (but a turn about the vertical,
                # which the tilt does not see)
                # a rate under half the still test's is the still test's to take in: one near its limit, flickering
                # across it with the noise, would leave the bias wrong for good (neither still nor checked)
                if w_sq < 0.25 * limit * limit or w_sq >= bias_check_max_sq or abs(acc_norm - gravity) >= still_acc:
                    turn_run = 0.0  # (or faster than a first bias can be wrong: a movement; or not gravity alone)
                elif turn_run > 0.0 and ax * tax + ay * tay + az * taz >= bias_check_cos * acc_norm * tan:
                    turn_run += dt
                    sgx, sgy, sgz = sgx + dt * g0, sgy + dt * g1, sgz + dt * g2
                else:  # a run begins (again, when gravity's direction moved)
                    turn_run, tax, tay, taz, tan, sgx, sgy, sgz = dt, ax, ay, az, acc_norm, dt * g0, dt * g1, dt * g2
                if turn_run >= bias_check_s:
                    bx, by, bz = sgx / turn_run, sgy / turn_run, sgz / turn_run
                    wx, wy, wz = g0 - bx, g1 - by, g2 - bz
                    moving, bias_time, turn_run = False, turn_run, 0.0
            pgx, pgy, pgz = g0, g1, g2

            # stillness: bias and the mean accelerometer direction of the still run
            if moving or abs(acc_norm - gravity) >= still_acc:
                still_run = 0.0
                sumx, sumy, sumz = 0.0, 0.0, 0.0
            else:
                still_run += dt
                sumx, sumy, sumz = sumx + ax, sumy + ay, sumz + az
            still = still_run >= still_time
            if still:
                if not acc_only:
                    bias_time += dt
                    kb = dt / min(bias_tau, bias_time)
                    bx, by, bz = bx + kb * wx, by + kb * wy, bz + kb * wz
                norm = math.sqrt(sumx * sumx + sumy * sumy + sumz * sumz)
                inv = 1.0 / norm
                scratch[MX, j], scratch[MX + 1, j], scratch[MX + 2, j] = sumx * inv, sumy * inv, sumz * inv
            scratch[GX, j], scratch[GX + 1, j], scratch[GX + 2, j] = gx, gy, gz
            scratch[WX, j], scratch[WX + 1, j], scratch[WX + 2, j] = wx, wy, wz
            scratch[DT, j] = dt
            scratch[SETTLED, j] = 1.0 if acc_only or settle == 0.0 else 0.0
            out[ACC_NORM, i] = acc_norm
            flags[STILL, i] = still

        # the trunk pass: the frame (n, a, f) changes only while still or until the sagittal plane is decided;
        # the outputs of each run of samples with one frame are computed at once (a loop that vectorizes)
        size, run, j = min(CHUNK, n - c0), 0, -1
        while j < size:
            j += 1
            if decided == 2.0 and (sign_final != 0.0 or abs(n1z) > params[FIRST_MAX_SIN]):
                # the plane and its sign settled (or not to be checked): only a still sample can change the frame
                while j < size and not flags[STILL, c0 + j]:
                    j += 1
            i = c0 + j
            # neutral pose: the mean accelerometer direction of a still run; refreshed, once calibrated, not while
            # sitting or bent over (or creeping away from the first neutral)
            refresh = reanchor = maybe = False
            if j < size and flags[STILL, i] and t[i] - refreshed_t >= REFRESH_EVERY_S:
                mx, my, mz = scratch[MX, j], scratch[MX + 1, j], scratch[MX + 2, j]
                refresh = calibrated == 0.0 or mx * n1x + my * n1y + mz * n1z >= refresh_cos
                maybe = (not refresh and calibrated != 0.0 and abs(mz) < params[STANDING_MAX_SIN]  # (item 3)
                         and t[i] - state[CHECKED_T] >= REFRESH_EVERY_S)
            flip = False  # (not while the first neutral is a bent pose: forward and back mean nothing from there)
            if j < size and decided == 2.0 and sign_final == 0.0 and abs(n1z) <= params[FIRST_MAX_SIN]:
                ux, uy, uz = scratch[GX, j], scratch[GX + 1, j], scratch[GX + 2, j]
                flip, final, back_t = _sign_check(-(ux * ffx + uy * ffy + uz * ffz), ux * nx + uy * ny + uz * nz,
                                                  t[i], back_t, params)
                sign_final = 1.0 if final else 0.0
            if j < size and not refresh and not maybe and not flip and decided == 2.0:
                continue
            _trunk_outputs(out, flags, scratch, c0, run, j, acc_only, calibrated,
                           nx, ny, nz, fax, fay, faz, ffx, ffy, ffz)
            run = j
            if j == size:
                break
            if maybe:
                refresh = reanchor = _reanchor_check(mx, my, mz, n1x, n1y, n1z, t[i], state, params)
            elif refresh:
                state[CAND_T] = -math.inf  # (back at the neutral: a pose tried was a stretch, not the sensor)
            if refresh:
                refreshed_t = t[i]
                if calibrated == 0.0 or reanchor:
                    if reanchor:
                        flags[REANCHORED_OUT, i] = True
                        if state[REANCHORED_T] == t[i]:  # (not a sensor turned on the body)
                            state[STANDING0], state[STANDING0 + 1], state[STANDING0 + 2] = mx, my, mz
                        decided, sign_final, back_t = 0.0, 0.0, math.nan
                        sxx, sxy, sxz, syy, syz, szz = 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
                    else:
                        calibrated, neutral_t = 1.0, t[i]
                    max_tilt_cos = 1.0  # excursions count from the neutral from now on
                    n1x, n1y, n1z = mx, my, mz
                nx, ny, nz = mx, my, mz
                fax, fay, faz, ffx, ffy, ffz = _axes(nx, ny, nz, fax, fay, faz)
            if flip:
                fax, fay, faz, ffx, ffy, ffz, flipped_t = -fax, -fay, -faz, -ffx, -ffy, -ffz, t[i]
                flags[FLIPPED_OUT, i] = True

            # the sagittal plane, once the first large excursion shows it (not while settling after a gap)
            if decided != 2.0:
                dx, dy, dz = scratch[up_row, j], scratch[up_row + 1, j], scratch[up_row + 2, j]
                wx, wy, wz = scratch[WX, j], scratch[WX + 1, j], scratch[WX + 2, j]
                dt = scratch[DT, j]
                du = dx * nx + dy * ny + dz * nz
                if decided == 0.0 and scratch[SETTLED, j] != 0.0:
                    if du < gather_cos:
                        # rotation during the first large excursion (not walking or swaying) shows the flexion axis
                        sxx, sxy, sxz = sxx + dt * wx * wx, sxy + dt * wx * wy, sxz + dt * wx * wz
                        syy, syz, szz = syy + dt * wy * wy, syz + dt * wy * wz, szz + dt * wz * wz
                    if du < max_tilt_cos:
                        max_tilt_cos = du
                        if du < decide_cos:
                            # refined while the excursion lasts (1), but for the accelerometer-only plane (2: final)
                            decided, decided_t = 2.0 if acc_only else 1.0, t[i]
                            px, py, pz = _principal_axis(nx, ny, nz, sxx, sxy, sxz, syy, syz, szz, dx, dy, dz)
                        else:  # provisional: the axis of the largest excursion so far
                            px, py, pz = dy * nz - dz * ny, dz * nx - dx * nz, dx * ny - dy * nx
                        fax, fay, faz, ffx, ffy, ffz = _axes(nx, ny, nz, px, py, pz)
                elif decided == 1.0:
                    # refined (its sign kept) until that first excursion turns back by half the decision angle
                    # or is held still (a row's lifter stays bent over: a twist in the set is not the plane)
                    max_tilt_cos = min(max_tilt_cos, du)
                    max_sin = math.sqrt(max(0.0, 1.0 - max_tilt_cos * max_tilt_cos))
                    if not flags[STILL, i] and du < gather_cos and du < max_tilt_cos * gather_cos + max_sin * math.sqrt(
                            1.0 - gather_cos * gather_cos):
                        sxx, sxy, sxz = sxx + dt * wx * wx, sxy + dt * wx * wy, sxz + dt * wx * wz
                        syy, syz, szz = syy + dt * wy * wy, syz + dt * wy * wz, szz + dt * wz * wz
                        px, py, pz = _principal_axis(nx, ny, nz, sxx, sxy, sxz, syy, syz, szz, dx, dy, dz)
                        if px * fax + py * fay + pz * faz < 0.0:
                            px, py, pz = -px, -py, -pz
                        fax, fay, faz, ffx, ffy, ffz = _axes(nx, ny, nz, px, py, pz)
                    else:
                        decided = 2.0

    # angles of the trunk from neutral, R = Rz Rx(lateral) Ry(flexion): up = (-cos l sin f, sin l, cos l cos f),
    # so flexion = atan2(forward, up) holds beyond 90 deg (a deep good morning) and lateral = asin(left)
    for i in range(t.shape[0]):
        forward, left, up = out[FLEXION, i], out[LATERAL, i], out[UP, i]
        out[FLEXION, i] = DEG * _atan2(forward, up)
        out[LATERAL, i] = DEG * _atan2(left, math.sqrt(forward * forward + up * up))
    if acc_only:
        for i in range(t.shape[0]):
            dt = out[FLEXION_RATE, i]
            out[FLEXION_RATE, i] = (out[FLEXION, i] - flex_prev) / dt if dt > 0.0 else 0.0
            flex_prev = out[FLEXION, i]

    state[G0], state[G0 + 1], state[G0 + 2] = gx, gy, gz
    state[BIAS0], state[BIAS0 + 1], state[BIAS0 + 2] = bx, by, bz
    state[N0], state[N0 + 1], state[N0 + 2] = nx, ny, nz
    state[A0], state[A0 + 1], state[A0 + 2] = fax, fay, faz
    state[F0], state[F0 + 1], state[F0 + 2] = ffx, ffy, ffz
    state[N_FIRST0], state[N_FIRST0 + 1], state[N_FIRST0 + 2] = n1x, n1y, n1z
    state[GYRO_PREV0], state[GYRO_PREV0 + 1], state[GYRO_PREV0 + 2] = pgx, pgy, pgz
    state[STILL_SUM0], state[STILL_SUM0 + 1], state[STILL_SUM0 + 2] = sumx, sumy, sumz
    state[ACC_LP0], state[ACC_LP0 + 1], state[ACC_LP0 + 2] = lx, ly, lz
    state[ACC_SLOW0], state[ACC_SLOW0 + 1], state[ACC_SLOW0 + 2] = qx, qy, qz
    state[S0], state[S0 + 1], state[S0 + 2] = sxx, sxy, sxz
    state[S0 + 3], state[S0 + 4], state[S0 + 5] = syy, syz, szz
    state[T_PREV], state[STARTED], state[STILL_RUN], state[BIAS_TIME] = t_prev, started, still_run, bias_time
    state[CALIBRATED], state[NEUTRAL_T], state[DECIDED], state[DECIDED_T] = calibrated, neutral_t, decided, decided_t
    state[MAX_TILT_COS], state[REJECT_TIME] = max_tilt_cos, reject_time
    state[SIGN_FINAL], state[BACK_T], state[FLIPPED_T] = sign_final, back_t, flipped_t
    state[REFRESHED_T] = refreshed_t
    state[FLEX_PREV], state[SETTLE] = flex_prev, settle
    state[TURN_RUN], state[TURN_ACC0], state[TURN_ACC0 + 1], state[TURN_ACC0 + 2], state[TURN_ACC0 + 3] = (
        turn_run, tax, tay, taz, tan)
    state[TURN_GYRO0], state[TURN_GYRO0 + 1], state[TURN_GYRO0 + 2] = sgx, sgy, sgz
