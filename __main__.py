"""dr-platform: `pulumi up --stack primary` (region A) or `pulumi up --stack dr` (region B)."""
from stacks import dr, primary
from stacks.settings import Role, from_pulumi

settings = from_pulumi()  # invalid config stops here, naming the key, before any resource is declared
(primary.build if settings.role is Role.PRIMARY else dr.build)(settings)
