"""dr-platform: `pulumi up --stack primary` (region A) or `pulumi up --stack dr` (region B)."""
import pulumi

from stacks import dr, primary
from stacks.settings import ConfigError, Role, from_pulumi


class InvalidConfig(ConfigError, pulumi.RunError):
    """A RunError: the engine prints its message (every problem, each naming its key) without a traceback."""


try:
    settings = from_pulumi()  # invalid config stops here, before any resource is declared
except ConfigError as exc:
    raise InvalidConfig.of(exc.problems) from None
(primary.build if settings.role is Role.PRIMARY else dr.build)(settings)
