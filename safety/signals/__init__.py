"""Signal detection: disproportionality over report databases (PRR, ROR, IC, EBGM) and observed
against expected incidence within the trial. Rules live in config/signals.yaml."""

from safety.signals.config import SignalConfig, load_signal_config, signals_config_path
from safety.signals.disproportionality import contingency, disproportionality, run_disproportionality
from safety.signals.expected import combination_reference_rates, observed_vs_expected, signal_table
from safety.signals.gps import GammaMixturePrior, fit_prior, gps_scores

__all__ = [
    "GammaMixturePrior", "SignalConfig", "combination_reference_rates", "contingency", "disproportionality",
    "fit_prior", "gps_scores", "load_signal_config", "observed_vs_expected", "run_disproportionality",
    "signal_table", "signals_config_path",
]
