"""The scheduler: WHEN each step runs (safety/ decides WHAT it computes).

- `config`: the `jobs:` section of study.yaml (schedules, lease and staleness limits)
- `scheduler`: APScheduler with its job store in the study database; `start_scheduler(cfg)`
- `tasks`: the steps and the wrapper each runs in (`run_job`, `run_step`)
- `locks`: leases so that a step never runs twice at once; `runs`: job_run history
- `health`: `service_health(store, cfg, now)`; `lifecycle`: recovery and signals
- `data_cut`: `freeze_data_cut(store, label, user)`; `demo_feed`: the demo study arriving over time
"""
