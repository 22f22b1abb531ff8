"""What the risk job tells the rest of the app (Django signals).

The risk feature knows nothing of the features that react: the outreach feature
emails account managers about rises and queues the day's follow-ups after a run,
and the risk feature's own receivers enqueue the chunk tasks (services never
import tasks, so no task module and service module import each other).
"""

from django.dispatch import Signal

# Sent by runs.start_run inside its transaction; `run` (RiskRun), `chunks` [(id_from, id_to)].
run_started = Signal()

# Sent by runs.repair_runs for chunks enqueued again; `chunks` [(run_id, id_from, id_to)].
chunks_lost = Signal()

# Sent once, after the commit of the run's last chunk; `run` (RiskRun).
run_finished = Signal()

# Sent inside a chunk's transaction when levels rose; `rises` [(customer_id, level)], `as_of`.
levels_rose = Signal()

# Sent by calibration.start_calibration inside its transaction; `weight_set` (WeightSet).
calibration_started = Signal()

# Sent by backtest.start_backtest inside its transaction; `backtest` (Backtest).
backtest_started = Signal()
