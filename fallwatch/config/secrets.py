"""Secret config values: `${ENV_VAR}` references (never literals) and sections whose
validation errors never echo their input.

A secret field holds a `${ENV_VAR}` reference, resolved here from the environment, or
(channels) the same key with `_file` appended naming a file with the secret. Values are
`SecretStr`, so reprs and logs show `**********`.
"""

from __future__ import annotations

import os
import re
from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, SecretStr

from fallwatch.config.base import Section

_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def _secret_from_env(value: object) -> object:
    if isinstance(value, SecretStr):
        return value  # built in code (tests, a secrets manager): already wrapped
    if not isinstance(value, str):
        return value  # let SecretStr report the wrong type
    match = _ENV_REF.match(value.strip())
    if match is None:
        raise ValueError(
            "must be a ${ENV_VAR} reference, or give the path of a file holding it in the "
            "same key with _file appended; secrets are not written in config files"
        )
    name = match.group(1)
    resolved = os.environ.get(name, "")
    if not resolved:
        raise ValueError(f"environment variable {name} is not set (or is empty)")
    return SecretStr(resolved)


Secret = Annotated[SecretStr, BeforeValidator(_secret_from_env)]
"""A secret from `${ENV_VAR}` (or `<field>_file`, see `ChannelBase`), never a literal."""


class NotifySection(Section):
    # Errors name the field but never echo its input: the input may be a secret.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)
