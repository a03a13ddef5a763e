"""The study configuration (config/study.yaml) and settings from the environment.

Files hold the trial's rules; the environment holds where things run and every secret
(design.md: "Secrets never come from a committed file"). Relative paths in the YAML are
resolved against the YAML file's own folder, so a study is a movable folder.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO_ROOT / "config" / "study.yaml"


class ConfigError(ValueError):
    """A configuration file is missing or invalid; the message names the file and the field."""


class Settings(BaseSettings):
    """Deployment settings and secrets: environment only (VIGIL_*)."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_", extra="ignore")

    database_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_tls: Literal["none", "starttls", "ssl"] = "none"
    mail_from: str | None = None
    secret_key: str | None = None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StudyInfo(_Strict):
    id: str
    title: str = ""
    drugs: list[str] = Field(min_length=1)


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="allow")
    kind: Literal["sdtm_files", "redcap", "sql"] = "sdtm_files"
    path: str | None = None


class DashboardConfig(_Strict):
    base_url: str = "http://127.0.0.1:8050"


class StudyConfig(_Strict):
    study: StudyInfo
    source: SourceConfig = SourceConfig()
    database_url: str = "sqlite:///../var/vigil.db"
    supplemental: str = "supplemental.yaml"
    dashboard: DashboardConfig = DashboardConfig()
    # extra sections other modules validate themselves (alerting, scheduler, ...)
    jobs: dict[str, Any] = Field(default_factory=dict)
    alerting: dict[str, Any] = Field(default_factory=dict)

    # set by `load_config`, not read from the file
    path: Path = Field(default=DEFAULT_CONFIG, exclude=True)

    @property
    def folder(self) -> Path:
        return self.path.parent

    def resolve(self, relative: str | Path) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else (self.folder / p).resolve()

    @cached_property
    def settings(self) -> Settings:
        return Settings()

    @property
    def database(self) -> str:
        """The database URL: VIGIL_DATABASE_URL, else the file's, SQLite paths made absolute."""
        url = self.settings.database_url or self.database_url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            path = self.resolve(url[len(prefix):])
            path.parent.mkdir(parents=True, exist_ok=True)
            url = prefix + str(path)
        return url

    @property
    def source_path(self) -> Path | None:
        return self.resolve(self.source.path) if self.source.path else None

    def supplemental_map(self) -> dict[str, dict[str, str]]:
        data = read_yaml(self.resolve(self.supplemental))
        return {k: v for k, v in data.items() if k.startswith("SUPP") and isinstance(v, dict)}


def read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def validation_message(path: Path, exc: ValidationError) -> str:
    """One line per problem: file, dotted field, what is wrong."""
    parts = [f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()]
    return f"{path}: " + "; ".join(parts)


def load_model(model: type[BaseModel], path: Path, data: dict[str, Any] | None = None) -> Any:
    """Validate a YAML file (or already-read data) against a pydantic model, with a clear error."""
    try:
        return model.model_validate(read_yaml(path) if data is None else data)
    except ValidationError as exc:
        raise ConfigError(validation_message(path, exc)) from None


def config_path(path: Path | str | None = None) -> Path:
    import os

    chosen = path or os.environ.get("VIGIL_CONFIG")
    if chosen:
        return Path(chosen).resolve()
    local = Path.cwd() / "config" / "study.yaml"
    return local.resolve() if local.is_file() else DEFAULT_CONFIG


def load_config(path: Path | str | None = None) -> StudyConfig:
    resolved = config_path(path)
    cfg: StudyConfig = load_model(StudyConfig, resolved)
    cfg.path = resolved
    return cfg
