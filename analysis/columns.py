"""Rows of the Analyzer's per-sample history, and which rows each turning-point detector follows."""

T = 0  # s
FLEX = 1  # deg, trunk flexion as the orientation gives it
FLEX_SMOOTH = 2  # deg, low-passed
RATE_SMOOTH = 3  # deg/s, flexion rate low-passed
LATERAL = 4  # deg
TWIST_RATE = 5  # deg/s (0 without a gyroscope)
ACC_DEV = 6  # m/s², | |acc| - g |
VELOCITY = 7  # m/s, vertical (leaky-integrated)
HEIGHT = 8  # m, vertical (leaky-integrated)
N_COLUMNS = 9

# detector -> (row of the signal, row of its rate)
SIGNALS = {"coarse": (FLEX_SMOOTH, RATE_SMOOTH), "fine": (FLEX_SMOOTH, RATE_SMOOTH), "vertical": (HEIGHT, VELOCITY)}
